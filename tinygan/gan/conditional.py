"""The networks of lesson 11: better ways than concatenation to tell a GAN the class.

- AC-GAN (Odena, Olah & Shlens 2017, arXiv 1610.09585): D is not told the class; it outputs
  the real-vs-fake logit and K class logits, (N, 1 + K), and a class cross-entropy on real and
  fake digits trains it (tinygan.gan.conditioning.AuxiliaryClassifier).
- Projection discriminator (Miyato & Koyama 2018, arXiv 1802.05637): logit = psi(phi(x)) +
  embed(y) . phi(x), an inner product of the class's embedding with D's features.
- ControlGAN (Lee & Seok 2017, arXiv 1708.00598): an unconditional D, and a separate classifier
  (ControlClassifier) trained on augmented real digits only, whose cross-entropy on G's digits
  G also lowers (tinygan.gan.conditioning.ControlGANClassifier).
- A small BigGAN (Brock, Donahue & Simonyan 2019, arXiv 1809.11096): DCGAN's generator with
  conditional batch norm fed [shared class embedding | chunk of z] at each block (the
  hierarchical latent), against a projection DCGAN critic.

The MLP models share the conditional GAN's generator (models.ConditionalGenerator), so the
rows of the results table differ in how D (or a classifier) uses the label, and nothing else.
"""
from __future__ import annotations

from .. import init
from .. import nn
from ..ops import concatenate
from .models import (IMAGE_SHAPE, IMAGE_SIZE, NUM_CLASSES, Z_DIM, ClassConditionalGenerator,
                     ConditionalGenerator, MLPDiscriminator, _check_batch, _labels_for)


def mlp_features(hidden: int = 500) -> nn.Sequential:
    """phi(x) of the MLP discriminators: image (N, 1, 28, 28) -> features (N, hidden), the
    conditional GAN's D without its label input and its last layer."""
    return nn.Sequential(
        nn.Flatten(),                                                      # (N, 784)
        nn.Linear(IMAGE_SIZE, hidden), nn.LeakyReLU(0.2),                  # (N, 500)
        nn.Linear(hidden, hidden), nn.LeakyReLU(0.2))                      # (N, 500)


def conv_features(width: int = 32) -> nn.Sequential:
    """phi(x) of the convolutional critic: DCGAN's D without batch norm or its last layer,
    image (N, 1, 28, 28) -> features (N, 2w * 7 * 7)."""
    w = width
    return nn.Sequential(
        nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),                       # (N, w, 14, 14)
        nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),                   # (N, 2w, 7, 7)
        nn.Flatten())                                                      # (N, 2w * 49)


class ACGANDiscriminator(nn.Module):
    """image (N, 1, 28, 28) -> [source logit | K class logits] (N, 1 + K). The class head
    returns logits, not probabilities: the cross-entropy applies the softmax itself."""

    def __init__(self, features: nn.Module, feature_dim: int, num_classes: int = NUM_CLASSES):
        self.num_classes = num_classes
        self.features = features
        self.source = nn.Linear(feature_dim, 1)
        self.classes = nn.Linear(feature_dim, num_classes)

    def forward(self, x):
        _check_batch(type(self).__name__, x, IMAGE_SHAPE, "images")
        h = self.features(x)                                               # (N, F)
        return concatenate([self.source(h), self.classes(h)], axis=1)      # (N, 1 + K)

    def classify(self, x):
        """The class logits alone (N, K)."""
        return self.classes(self.features(x))


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x)) + <embed(y), phi(x)> -> logit (N, 1); y: ints (N,) or one-hot
    rows (N, K). The embedding starts from Glorot's uniform range (as Miyato & Koyama's code),
    which keeps the projection term near D's other term at the start."""
    takes_labels = True

    def __init__(self, features: nn.Module, feature_dim: int, num_classes: int = NUM_CLASSES):
        self.features = features
        self.psi = nn.Linear(feature_dim, 1)
        self.embed = nn.Embedding(num_classes, feature_dim)
        init.xavier_uniform_(self.embed.weight)

    def forward(self, x, labels):
        _check_batch(type(self).__name__, x, IMAGE_SHAPE, "images")
        return self.conditioned(x, _labels_for(type(self).__name__, labels, x.shape[0], x))

    def conditioned(self, x, y):
        """The logit for images x and class weights y (N, K), unchecked (the packed path)."""
        h = self.features(x)                                               # (N, F)
        return self.psi(h) + (self.embed(y) * h).sum(axis=1, keepdims=True)  # (N, 1)


class ControlClassifier(nn.Module):
    """ControlGAN's classifier C: image (N, 1, 28, 28) -> class logits (N, 10); an MLP, so it
    is not the evaluation classifier (a LeNet with its own committed weights) in disguise."""

    def __init__(self, hidden: int = 256, dropout: float = 0.2):
        self.net = nn.Sequential(
            nn.Flatten(),                                                  # (N, 784)
            nn.Linear(IMAGE_SIZE, 2 * hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Linear(2 * hidden, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Linear(hidden, NUM_CLASSES))                                # (N, 10) logits

    def forward(self, x):
        _check_batch(type(self).__name__, x, IMAGE_SHAPE, "images")
        return self.net(x)


class BigGANGenerator(ClassConditionalGenerator):
    """G(z, y) -> image (N, 1, 28, 28), BigGAN's conditioning on DCGAN's generator: z (N, 3c)
    is cut into three chunks of c; chunk 0 is projected to 2w x 7 x 7, and before each of the
    two upsampling convolutions a conditional batch norm takes [shared embedding of y | next
    chunk] (N, e + c), so the class and the latent reach every resolution."""

    def __init__(self, z_dim: int = 96, width: int = 32, shared_dim: int = 32):
        if z_dim % 3:
            raise ValueError(f"BigGANGenerator: z_dim must split into 3 equal chunks, got {z_dim}")
        self.z_dim, self.chunk, w = z_dim, z_dim // 3, width
        cond = shared_dim + self.chunk
        self.shared = nn.Embedding(NUM_CLASSES, shared_dim)                # one table, all layers
        self.linear = nn.Linear(self.chunk, 2 * w * 7 * 7)
        self.bn1 = nn.ConditionalBatchNorm2d(2 * w, cond_dim=cond)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 4, 2, 1)
        self.bn2 = nn.ConditionalBatchNorm2d(w, cond_dim=cond)
        self.up2 = nn.ConvTranspose2d(w, 1, 4, 2, 1)

    def conditioned(self, z, y):
        n, c = z.shape[0], self.chunk
        e = self.shared(y)                                                 # (N, e)
        z0, z1, z2 = z[:, :c], z[:, c:2 * c], z[:, 2 * c:]                 # (N, c) each
        h = self.linear(z0).reshape(n, self.bn1.num_features, 7, 7)        # (N, 2w, 7, 7)
        h = self.up1(self.bn1(h, concatenate([e, z1], axis=1)).relu())     # (N, w, 14, 14)
        h = self.up2(self.bn2(h, concatenate([e, z2], axis=1)).relu())     # (N, 1, 28, 28)
        return h.tanh()


def _dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s N(0, 0.02^2) for every layer but the class embeddings (their own)."""
    module.apply(lambda m: m if isinstance(m, nn.Embedding) else init.dcgan_init_(m))


def acgan(hidden: int = 500):
    """(G, D) of the MLP AC-GAN: the conditional GAN's G, D with a class head."""
    return ConditionalGenerator(Z_DIM, hidden), ACGANDiscriminator(mlp_features(hidden), hidden)


def projection_gan(hidden: int = 500):
    """(G, D) of the MLP projection GAN: the conditional GAN's G, a projection D."""
    return (ConditionalGenerator(Z_DIM, hidden),
            ProjectionDiscriminator(mlp_features(hidden), hidden))


def controlgan(hidden: int = 500):
    """(G, D, C) of the MLP ControlGAN: the conditional GAN's G, an unconditional D (the MLP
    GAN's, without dropout) and the classifier C."""
    return ConditionalGenerator(Z_DIM, hidden), MLPDiscriminator(hidden), ControlClassifier()


def biggan(width: int = 32, z_dim: int = 96, shared_dim: int = 32):
    """(G, D) of the small BigGAN: BigGANGenerator and a projection critic on DCGAN's
    convolutions, both initialised as Radford et al. (spectral norm and the hinge loss are
    the experiment's: tinygan.experiments.digits)."""
    G = BigGANGenerator(z_dim, width, shared_dim)
    D = ProjectionDiscriminator(conv_features(width), 2 * width * 7 * 7)
    _dcgan_init(G)
    _dcgan_init(D)
    return G, D
