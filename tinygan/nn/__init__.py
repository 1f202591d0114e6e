"""tinygan.nn: layers as Modules with PyTorch's names, weight layouts and state_dict keys."""
from .attention import SelfAttention2d
from .conv import (AvgPool2d, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
                   ConvTranspose3d, Upsample)
from .embedding import ConditionalBatchNorm2d, Embedding
from .equalized import EqualizedConv2d, EqualizedLinear, MinibatchStd, PixelNorm
from .layers import (Dropout, Flatten, Identity, LeakyReLU, Linear, PixelShuffle, PReLU, ReLU,
                     Sigmoid, Tanh, Unflatten)
from .module import Module, Parameter, Sequential
from .norm import BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm2d, LayerNorm
