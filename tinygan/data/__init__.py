"""Data sets. Submodules are imported on demand (`from tinygan.data import toy`), so loading one
never pays for another: toy.py holds the toy distributions (1D Gaussians and mixtures, the 2D
ring and grid), which need no download; mnist.py reads the canonical IDX files (checksums,
search order, opt-in download); digits.py makes the GANs' digits from them (the fixed split,
a synthetic stand-in, augmentation, the trainer's sampler). Beyond flat images, with no
download: voxels.py makes 3-D shapes (sphere, box, cylinder, torus) in a 16³ or 32³ occupancy
grid for 3D-GAN; melodies.py makes one-bar piano-roll melodies over C–G–Am–F with MidiNet's
13-d chord vectors, and the metrics that read generated rolls (chord tones, in-scale, motif
repeats); midi.py writes them as Standard MIDI Files, from the format, to listen to."""
