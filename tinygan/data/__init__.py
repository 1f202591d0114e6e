"""Data sets. Submodules are imported on demand (`from tinygan.data import toy`), so loading one
never pays for another: toy.py holds the toy distributions (1D Gaussians and mixtures, the 2D
ring and grid), which need no download."""
