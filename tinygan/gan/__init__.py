"""GAN-specific pieces: objectives (losses.py); the trainer and models as they land."""
