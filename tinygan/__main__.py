"""`python -m tinygan ...` runs the command line (see tinygan/cli.py)."""
from .cli import main

raise SystemExit(main())
