"""Bad input to the public API, table-driven: every public constructor and function given a
wrong dtype, shape, device, a negative or zero size, a NaN hyperparameter or a wrong type raises
a ValueError or TypeError whose message names the argument, says what was given and what is
accepted. Each row is (call, exception, words the message must hold); later issues add rows
for the layers they add."""
import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from tinygan import backend, experiments, io, metrics, optim
from tinygan.data import toy
from tinygan.data.digits import split_digits
from tinygan.gan import hooks, losses, models, remedies
from tinygan.gan.trainer import Trainer, normal_noise

NAN = float("nan")


def _params():
    return nn.Linear(2, 2).parameters()


def _trainer(**kw):
    G, D = nn.Linear(2, 2), nn.Linear(2, 1)
    args = dict(batch_size=4, d_steps=1)
    args.update(kw)
    return Trainer(G, D, optim.Adam(G.parameters()), optim.Adam(D.parameters()),
                   data=lambda m, rng: tg.randn(m, 2), noise=normal_noise(2), **args)


T = lambda *shape: tg.zeros(*shape)  # noqa: E731

TABLE = [
    # --- making tensors
    (lambda: tg.tensor([1.0], device="tpu"), ValueError, ["device", "'tpu'", "'cpu'"]),
    (lambda: tg.zeros(2, -3), ValueError, ["negative", "(2, -3)"]),
    (lambda: tg.tensor(["a"], requires_grad=True), TypeError, ["require grad", "<U1",
                                                               "float32"]),
    (lambda: tg.tensor([1, 2]).requires_grad_(), TypeError, ["int64", "float"]),
    (lambda: tg.randn(2, device="gpu"), ValueError, ["device", "'gpu'", "'cuda'"]),
    (lambda: backend.check_device(3), ValueError, ["device", "3", "'cpu'"]),
    # --- the engine
    (lambda: T(2, 3) @ T(4, 2), ValueError, ["matmul", "(2, 3)", "(4, 2)", "inner"]),
    (lambda: T(()) @ T(3), ValueError, ["matmul", "at least 1-D", "()"]),
    (lambda: T(2, 3) + T(4), ValueError, ["Add", "(2, 3)", "(4,)"]),
    (lambda: T(2).item(), ValueError, ["item()", "one element", "(2,)"]),
    (lambda: tg.grad(tg.zeros(2, requires_grad=True).sum(), [tg.zeros(2, requires_grad=True)]),
     RuntimeError, ["input 0", "not used", "allow_unused"]),
    (lambda: tg.pad(T(2), -1), ValueError, ["pad_width", "non-negative", "(2,)"]),
    (lambda: tg.clip(T(2), 1.0, 0.0), ValueError, ["lower bound 1.0", "upper bound 0.0"]),
    (lambda: tg.concatenate([]), ValueError, ["concatenate", "at least one"]),
    (lambda: tg.stack([T(2), T(3)]), ValueError, ["stack", "(2,)", "(3,)"]),
    (lambda: T(2, 3).reshape(4), ValueError, ["Reshape", "(2, 3)", "4"]),
    # --- functional
    (lambda: F.linear(T(5, 3), T(2, 4)), ValueError, ["linear", "(5, 3)", "(2, 4)", "must be 4"]),
    (lambda: F.conv2d(T(1, 3, 8, 8), T(4, 2, 3, 3)), ValueError,
     ["conv2d", "3 channels", "expects 2"]),
    (lambda: F.conv2d(T(1, 2, 8, 8), T(4, 2, 3, 3), stride=0), ValueError,
     ["stride", ">= 1", "0"]),
    (lambda: F.conv2d(T(2, 8, 8), T(4, 2, 3, 3)), ValueError, ["input", "4-D", "(2, 8, 8)"]),
    (lambda: F.conv_transpose2d(T(1, 2, 4, 4), T(2, 3, 3, 3), stride=2, output_padding=2),
     ValueError, ["output_padding", "(2, 2)", "stride (2, 2)"]),
    (lambda: F.bce_with_logits(T(3), T(3), reduction="avg"), ValueError,
     ["reduction", "'avg'", "'mean'"]),
    (lambda: F.mse(T(3), T(3), reduction="max"), ValueError, ["reduction", "'max'", "'sum'"]),
    (lambda: F.dropout(T(3), p=1.5), ValueError, ["p=1.5", "[0, 1]"]),
    (lambda: F.dropout(T(3), p=NAN), ValueError, ["p=nan", "[0, 1]"]),
    (lambda: F.cross_entropy(T(4, 3), np.array([0, 1, 2, 3])), ValueError,
     ["targets", "0..2", "3"]),
    (lambda: F.cross_entropy(T(4, 3), np.zeros(4)), ValueError,
     ["targets", "integer", "float64"]),
    (lambda: F.batch_norm(T(4), training=True), ValueError, ["batch_norm", "(N, C", "(4,)"]),
    (lambda: F.batch_norm(T(4, 3), T(2), T(2)), ValueError,
     ["running_mean", "(2,)", "(3,)"]),
    (lambda: F.layer_norm(T(2, 5), 4), ValueError, ["(4,)", "(2, 5)"]),
    (lambda: F.instance_norm(T(2, 3)), ValueError, ["instance_norm", "(N, C, H", "(2, 3)"]),
    (lambda: F.avg_pool2d(T(1, 1, 4, 4), 3, padding=2), ValueError,
     ["padding", "(2, 2)", "half the kernel"]),
    (lambda: F.interpolate(T(1, 1, 2, 2), 2, mode="bilinear"), ValueError,
     ["mode", "'bilinear'", "'nearest'"]),
    # --- layers
    (lambda: nn.Linear(3.0, 2), ValueError, ["in_features", "3.0", "int"]),
    (lambda: nn.Linear(3, -2), ValueError, ["out_features", "-2", "non-negative"]),
    (lambda: nn.Linear(3, 2)(T(4, 2)), ValueError, ["Linear(3, 2)", "(4, 2)", "must be 3"]),
    (lambda: nn.Conv2d(3, 8, 0), ValueError, ["kernel_size", "0", ">= 1"]),
    (lambda: nn.Conv2d(3, 8, 3, padding=-1), ValueError, ["padding", "-1", ">= 0"]),
    (lambda: nn.Conv2d(3, 8, 3, stride=(1, 2, 3)), ValueError, ["stride", "(1, 2, 3)", "pair"]),
    (lambda: nn.ConvTranspose2d(3, 8, 3, stride=2, output_padding=2), ValueError,
     ["output_padding", "(2, 2)", "stride (2, 2)"]),
    (lambda: nn.Conv1d(3, 8, (3, 3)), ValueError, ["Conv1d", "kernel_size", "one int"]),
    (lambda: nn.Conv3d(3, 8, 3)(T(2, 3, 4, 4)), ValueError,
     ["Conv3d(3, 8", "5-D", "(N, C, D, H, W)"]),
    (lambda: nn.ConvTranspose1d(3, 8, 3)(T(2, 4, 5)), ValueError,
     ["ConvTranspose1d(3, 8", "4 channels", "expects 3"]),
    (lambda: nn.ConvTranspose3d(3, 8, 3, stride=2, output_padding=(0, 2, 0)), ValueError,
     ["ConvTranspose3d", "output_padding", "(0, 2, 0)", "stride (2, 2, 2)"]),
    (lambda: nn.BatchNorm3d(3)(T(2, 3, 4)), ValueError, ["BatchNorm3d(3)", "(2, 3, 4)", "5-D"]),
    (lambda: nn.BatchNorm1d(0.5), ValueError, ["num_features", "0.5", "int"]),
    (lambda: nn.BatchNorm2d(3, eps=0), ValueError, ["eps", "eps=0", "positive"]),
    (lambda: nn.BatchNorm2d(3, eps=NAN), ValueError, ["eps", "nan", "positive"]),
    (lambda: nn.BatchNorm1d(3, momentum=1.5), ValueError, ["momentum", "1.5", "[0, 1]"]),
    (lambda: nn.BatchNorm1d(3, momentum=NAN), ValueError, ["momentum", "nan", "[0, 1]"]),
    (lambda: nn.BatchNorm2d(3)(T(2, 3)), ValueError, ["BatchNorm2d(3)", "(2, 3)", "4-D"]),
    (lambda: nn.LayerNorm(()), ValueError, ["normalized_shape", "()", "at least one"]),
    (lambda: nn.Embedding(10, -2), ValueError, ["Embedding", "embedding_dim", "-2"]),
    (lambda: nn.Embedding(4, 2)(np.array([1, 4])), ValueError, ["Embedding(4, 2)", "0..3",
                                                               "1..4"]),
    (lambda: nn.Embedding(4, 2)(np.array([0.5])), ValueError, ["integers", "float64"]),
    (lambda: nn.ConditionalBatchNorm2d(3), ValueError, ["num_classes", "cond_dim"]),
    (lambda: nn.ConditionalBatchNorm2d(3, cond_dim=2)(T(2, 3, 1, 1), T(2, 5)), ValueError,
     ["ConditionalBatchNorm2d(3)", "(2, 5)", "(2, 2)"]),
    (lambda: nn.ConditionalBatchNorm2d(3, num_classes=4)(T(2, 3), np.array([0, 1])),
     ValueError, ["ConditionalBatchNorm2d(3)", "(2, 3)", "4-D"]),
    # --- the layers of lessons 13 and 14
    (lambda: nn.EqualizedLinear(3, 3, gain=0.0), ValueError, ["EqualizedLinear", "gain",
                                                             "> 0", "0.0"]),
    (lambda: nn.EqualizedConv2d(2, 4, 3)(T(1, 3, 5, 5)), ValueError,
     ["EqualizedConv2d(2, 4", "3 channels", "expects 2"]),
    (lambda: nn.PixelNorm()(T(3)), ValueError, ["pixel_norm", "(N, C, ...)", "(3,)"]),
    (lambda: nn.MinibatchStd()(T(1, 3, 2, 2)), ValueError, ["minibatch_std", "at least 2",
                                                           "(1, 3, 2, 2)"]),
    (lambda: nn.PReLU(3)(T(2, 4, 2, 2)), ValueError, ["prelu", "(3,)", "axis 1",
                                                     "(2, 4, 2, 2)"]),
    (lambda: nn.PixelShuffle(2)(T(1, 6, 2, 2)), ValueError, ["pixel_shuffle", "C * 4",
                                                            "(1, 6, 2, 2)"]),
    (lambda: nn.SelfAttention2d(4), ValueError, ["SelfAttention2d", "channels", ">= 8", "4"]),
    (lambda: tg.truncated_normal(3, threshold=-1), ValueError, ["threshold", "-1",
                                                                "positive"]),
    (lambda: F.cross_entropy(T(2, 3), T(2, 4)), ValueError, ["probability targets", "(2, 3)",
                                                             "(2, 4)"]),
    (lambda: nn.InstanceNorm2d(3)(T(2, 4, 5, 5)), ValueError, ["InstanceNorm2d(3)",
                                                               "(2, 4, 5, 5)", "(N, 3, H, W)"]),
    (lambda: nn.Dropout(-0.1), ValueError, ["p=-0.1", "[0, 1]"]),
    (lambda: nn.Dropout(NAN), ValueError, ["p=nan", "[0, 1]"]),
    (lambda: nn.Unflatten(1, (3, 4))(T(2, 10)), ValueError, ["Unflatten", "(3, 4)", "10", "12"]),
    (lambda: nn.Upsample(2, mode="bicubic"), ValueError, ["mode", "'bicubic'", "'nearest'"]),
    (lambda: nn.AvgPool2d(0), ValueError, ["kernel_size", "0", ">= 1"]),
    (lambda: nn.Sequential(nn.Linear(2, 2), "relu"), TypeError, ["Sequential", "str",
                                                                 "position 1"]),
    (lambda: nn.Linear(2, 2).load_state_dict([1, 2]), TypeError, ["load_state_dict", "list",
                                                                  "dict"]),
    (lambda: nn.Linear(2, 2).load_state_dict({"weight": np.zeros((3, 3)),
                                              "bias": np.zeros(2)}),
     ValueError, ["weight", "(2, 2)", "(3, 3)"]),
    (lambda: nn.Linear(2, 2).train("yes"), TypeError, ["train(mode)", "bool", "str"]),
    (lambda: nn.Linear(2, 2).to("tpu"), ValueError, ["device", "'tpu'"]),
    # --- optimizers
    (lambda: optim.SGD(_params(), lr=-1.0), ValueError, ["lr", "-1.0", "[0.0"]),
    (lambda: optim.SGD(_params(), lr=NAN), ValueError, ["lr", "nan"]),
    (lambda: optim.SGD(_params(), lr="0.1"), TypeError, ["lr", "str", "'0.1'", "number"]),
    (lambda: optim.SGD(_params(), lr=0.1, momentum=-0.5), ValueError, ["momentum", "-0.5"]),
    (lambda: optim.Adam(_params(), betas=(0.9, 1.0)), ValueError, ["betas", "1.0", "[0.0, 1.0)"]),
    (lambda: optim.Adam(_params(), betas=(NAN, 0.9)), ValueError, ["betas", "nan"]),
    (lambda: optim.Adam(_params(), eps=-1e-8), ValueError, ["eps", "-1e-08"]),
    (lambda: optim.Adam(_params(), weight_decay=-1.0), ValueError, ["weight_decay", "-1.0"]),
    (lambda: optim.RMSprop(_params(), alpha=1.5), ValueError, ["alpha", "1.5"]),
    (lambda: optim.Adam([]), ValueError, ["Adam", "empty parameter list"]),
    (lambda: optim.Adam(tg.zeros(2, requires_grad=True)), TypeError, ["iterable", "Tensor"]),
    (lambda: optim.Adam([tg.zeros(2)]), ValueError, ["parameter 0", "requires_grad=True"]),
    # --- GAN pieces
    (lambda: losses.objective("wasserstein-gp"), ValueError, ["'wasserstein-gp'",
                                                             "'nonsaturating'"]),
    (lambda: losses.objective(3), TypeError, ["objective name", "int", "3"]),
    (lambda: _trainer(batch_size=0), ValueError, ["batch_size", "0", ">= 1"]),
    (lambda: _trainer(d_steps=-1), ValueError, ["d_steps", "-1", ">= 1"]),
    (lambda: _trainer(hooks=[print]), TypeError, ["hooks[0]", "builtin_function_or_method",
                                                  "Hook"]),
    (lambda: _trainer().fit(), ValueError, ["fit", "budget", "steps="]),
    (lambda: _trainer().fit(steps=1, clock="gpu"), ValueError, ["clock", "'gpu'", "'cpu'"]),
    (lambda: hooks.EMA(nn.Linear(2, 2), decay=1.0), ValueError, ["decay", "1.0", "(0, 1)"]),
    (lambda: hooks.EMA(nn.Linear(2, 2), decay=NAN), ValueError, ["decay", "nan", "(0, 1)"]),
    (lambda: hooks.LinearDecay(0, 0.1), ValueError, ["total", "0", ">= 1"]),
    (lambda: hooks.LinearDecay(10, 1.5), ValueError, ["final", "1.5", "[0, 1]"]),
    (lambda: remedies.Packed(nn.Linear(4, 1), 0), ValueError, ["m", "0", "positive int"]),
    (lambda: remedies.pack(T(5, 2), 2), ValueError, ["5", "packs of 2", "multiple of 2"]),
    (lambda: remedies.MinibatchDiscrimination(0), ValueError, ["in_features", "0", "positive"]),
    (lambda: remedies.HistoricalAverage(_params(), weight=-1.0), ValueError,
     ["weight", "-1.0", "non-negative"]),
    (lambda: remedies.HistoricalAverage(_params(), weight=NAN), ValueError, ["weight", "nan"]),
    (lambda: remedies.HistoricalAverage(_params(), player="critic"), ValueError,
     ["player", "'critic'", "'discriminator'"]),
    (lambda: remedies.InstanceNoise(nn.Linear(2, 1), std=-0.1), ValueError,
     ["std", "-0.1", "non-negative"]),
    (lambda: remedies.InstanceNoise(nn.Linear(2, 1), anneal_iterations=0), ValueError,
     ["anneal_iterations", "0", ">= 1"]),
    (lambda: remedies.one_sided_label_smoothing(1.5), ValueError,
     ["real_target", "1.5", "(0, 1]"]),
    (lambda: models.one_hot([0, 10]), ValueError, ["labels", "0..9", "10"]),
    (lambda: models.MLPGenerator()(T(3, 50)), ValueError, ["z", "(3, 50)", "(N, 100)"]),
    (lambda: models.DCGANDiscriminator()(T(3, 1, 32, 32)), ValueError,
     ["images", "(3, 1, 32, 32)", "(N, 1, 28, 28)"]),
    # --- experiments, data, metrics, files
    (lambda: experiments.build("ring", hidden=0), ValueError, ["hidden", ">= 1", "0"]),
    (lambda: experiments.build("ring", hidden=NAN), TypeError, ["hidden", "int", "nan"]),
    (lambda: experiments.build("toy1d", lr_g=NAN), ValueError, ["lr_g", "finite", "nan"]),
    (lambda: experiments.build("dcgan", method="packing"), ValueError,
     ["method", "valid", "'lr'"]),
    (lambda: experiments.build("ring", method="wgan-gp"), ValueError, ["method", "'wgan-gp'",
                                                                       "'wgan_gp'"]),
    (lambda: toy.gaussian_1d(0.0, -1.0), ValueError, ["std", "-1.0", "positive"]),
    (lambda: toy.ring_2d(0), ValueError, ["n_modes", "0", "positive"]),
    (lambda: split_digits(np.zeros((10, 1, 28, 28)), np.zeros(10), heldout=10), ValueError,
     ["heldout", "10", "0 < heldout < N"]),
    (lambda: metrics.mode_coverage(np.zeros((5, 2)), np.zeros((3, 2)), sigma=0.0), ValueError,
     ["sigma", "0.0", "positive"]),
    (lambda: metrics.classifier_score(np.ones((4, 3, 2))), ValueError,
     ["probabilities", "(4, 3, 2)", "(N, C)"]),
    (lambda: metrics.frechet_distance(np.ones((5, 3)), np.ones((5, 4))), ValueError,
     ["(5, 3)", "(5, 4)", "features"]),
    (lambda: io.save("x.npz", [1, 2]), TypeError, ["tg.save", "list", "Module"]),
    (lambda: io.save("x.npz", {"a/b": np.zeros(2)}), ValueError, ["'a/b'", "'/'"]),
    (lambda: io.save("x.npz", {"a": object()}), TypeError, ["object", "'a'", "arrays"]),
    (lambda: io.save("x.npz", {"a": np.zeros(2)}, meta={"f": object()}), TypeError,
     ["meta", "object", "JSON"]),
]


def _name(row):
    return " ".join(row[2][:2])[:60]


@pytest.mark.parametrize("call, exc, words", TABLE, ids=[_name(r) for r in TABLE])
def test_bad_input_is_refused_with_a_message_that_says_why(call, exc, words, tmp_path,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)  # the io rows would write into the working folder
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"the message lacks {missing}: {message!r}"


def test_the_table_reaches_every_public_layer():
    """A new layer in tinygan.nn must bring a row of its own here."""
    import inspect
    layers = {name for name, obj in vars(nn).items()
              if inspect.isclass(obj) and issubclass(obj, nn.Module) and obj is not nn.Module}
    covered = {name for name in layers if f"nn.{name}(" in inspect.getsource(
        inspect.getmodule(test_the_table_reaches_every_public_layer))}
    exempt = {"Identity", "ReLU", "Tanh", "Sigmoid", "Flatten", "LeakyReLU"}  # nothing to check
    assert layers - covered - exempt == set(), sorted(layers - covered - exempt)
