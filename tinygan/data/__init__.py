"""Data sets. Submodules are imported on demand (`from tinygan.data import toy`), so loading one
never pays for another: toy.py holds the toy distributions (1D Gaussians and mixtures, the 2D
ring and grid), which need no download; mnist.py reads the canonical IDX files (checksums,
search order, opt-in download); digits.py makes the GANs' digits from them (the fixed split,
a synthetic stand-in, augmentation, the trainer's sampler)."""
