"""The digit GANs (tinygan.gan.models):
output shapes, parameter counts worked out from the layer sizes, the DCGAN layer list and
initialisation, the conditional label contract and its errors, and the packed adapters the
trainer uses (training them is in tests/test_digits.py)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygan as tg
import tinygan.nn as nn
from tinygan.gan import models as M


def linear(i, o):
    return i * o + o


def conv(i, o, k):
    return i * o * k * k + o


# ---------------------------------------------------------------- shapes and sizes


@settings(max_examples=6)
@given(n=st.integers(2, 5), which=st.sampled_from(["mlp", "dcgan"]))
def test_unconditional_shapes(n, which):
    G, D = M.mlp_gan() if which == "mlp" else M.dcgan()
    x = G(tg.randn(n, 100))
    assert x.shape == (n, 1, 28, 28)
    assert -1 <= x.numpy().min() and x.numpy().max() <= 1  # tanh output
    assert D(x).shape == (n, 1)


def test_single_sample_in_eval_mode():
    for G, D in (M.mlp_gan(), M.dcgan()):
        G.eval(), D.eval()
        assert D(G(tg.randn(1, 100))).shape == (1, 1)


def test_parameter_counts():
    G, D = M.mlp_gan()
    bn = 2 * 500  # a BatchNorm1d(500) trains a scale and a shift per feature
    assert M.count_parameters(G) == linear(100, 500) + linear(500, 500) + linear(500, 784) + 2 * bn
    assert M.count_parameters(D) == linear(784, 500) + linear(500, 500) + linear(500, 1)
    G, D = M.dcgan()
    assert M.count_parameters(G) == (linear(100, 128 * 49) + 2 * 128 + conv(128, 64, 4) + 2 * 64
                                     + conv(64, 1, 4))
    assert M.count_parameters(D) == conv(1, 64, 4) + conv(64, 128, 4) + 2 * 128 + linear(6272, 1)
    G, D = M.conditional_gan()
    assert M.count_parameters(G) == (linear(110, 500) + linear(500, 500) + linear(500, 784)
                                     + 2 * bn)
    assert M.count_parameters(D) == linear(794, 500) + linear(500, 500) + linear(500, 1)


def test_mlp_discriminator_dropout_acts_in_training_only():
    _, D = M.mlp_gan()  # dropout 0.3 after each hidden layer by default
    assert [m.p for m in D.modules() if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    x = tg.randn(8, 1, 28, 28)
    D.eval()  # the identity in eval mode: the same logits twice
    np.testing.assert_array_equal(D(x).numpy(), D(x).numpy())
    D.train()  # fresh masks each call
    assert not np.array_equal(D(x).numpy(), D(x).numpy())
    plain = M.MLPDiscriminator(dropout=0.0)
    assert not any(isinstance(m, nn.Dropout) for m in plain.modules())
    assert list(plain.state_dict()) == ["net.0.weight", "net.0.bias", "net.2.weight",
                                        "net.2.bias", "net.4.weight", "net.4.bias"]


def test_mlp_generator_without_batch_norm():
    G = M.MLPGenerator(batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in G.modules())
    assert G(tg.randn(3, 100)).shape == (3, 1, 28, 28)


def test_dcgan_layers_follow_the_architecture():
    """Issue 4's DCGAN, layer by layer (types and sizes)."""
    G, D = M.dcgan()
    g = list(G.net)
    assert [type(m).__name__ for m in g] == ["Linear", "Unflatten", "BatchNorm2d", "ReLU",
                                              "ConvTranspose2d", "BatchNorm2d", "ReLU",
                                              "ConvTranspose2d", "Tanh"]
    assert (g[0].in_features, g[0].out_features, g[1].shape) == (100, 6272, (128, 7, 7))
    for layer, (i, o) in ((g[4], (128, 64)), (g[7], (64, 1))):
        assert (layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                layer.padding) == (i, o, (4, 4), (2, 2), (1, 1))
    d = list(D.net)
    assert [type(m).__name__ for m in d] == ["Conv2d", "LeakyReLU", "Conv2d", "BatchNorm2d",
                                              "LeakyReLU", "Flatten", "Linear"]
    assert d[1].slope == d[4].slope == 0.2
    assert (d[6].in_features, d[6].out_features) == (6272, 1)
    assert not isinstance(d[1], nn.BatchNorm2d)  # no batch norm on D's input layer


def test_dcgan_initialisation():
    """Radford et al.: weights N(0, 0.02^2); batch-norm scales N(1, 0.02^2); biases zero."""
    G, D = M.dcgan()
    big = G.net[0].weight.numpy()  # 627,200 draws: the sample std is within 1 % of 0.02
    assert abs(big.std() - 0.02) < 2e-4 and abs(big.mean()) < 2e-4
    for model in (G, D):
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                assert np.all(m.bias.numpy() == 0)
                assert np.abs(m.weight.numpy()).max() < 0.02 * 6.5
            if isinstance(m, nn.BatchNorm2d):
                w = m.weight.numpy()
                assert np.all(np.abs(w - 1) < 0.02 * 6) and w.std() > 0.005


def test_wrong_shapes_raise_clear_errors():
    G, D = M.dcgan()
    with pytest.raises(ValueError, match=r"DCGANGenerator: z has shape \(2, 64\), expected "
                                         r"\(N, 100\)"):
        G(tg.randn(2, 64))
    with pytest.raises(ValueError, match="DCGANDiscriminator: images has shape"):
        D(tg.randn(2, 784))
    G, D = M.mlp_gan()
    with pytest.raises(ValueError, match=r"expected \(N, 1, 28, 28\)"):
        D(tg.randn(2, 1, 32, 32))
    with pytest.raises(TypeError, match="must be a tinygan Tensor"):
        G(np.zeros((2, 100), dtype=np.float32))


# ---------------------------------------------------------------- the conditional GAN


def test_conditional_shapes_and_label_forms_agree():
    G, D = M.conditional_gan()
    G.eval(), D.eval()
    z = tg.randn(4, 100)
    labels = [3, 0, 9, 3]
    x_int = G(z, labels)
    x_hot = G(z, M.one_hot(labels))
    x_arr = G(z, np.array(labels, dtype=np.uint8))
    assert x_int.shape == (4, 1, 28, 28)
    np.testing.assert_array_equal(x_int.numpy(), x_hot.numpy())
    np.testing.assert_array_equal(x_int.numpy(), x_arr.numpy())
    assert D(x_int, labels).shape == (4, 1)


def test_conditional_output_depends_on_the_label():
    G, D = M.conditional_gan()
    G.eval(), D.eval()
    z = tg.randn(1, 100)
    a, b = G(z, [1]).numpy(), G(z, [7]).numpy()
    assert np.abs(a - b).max() > 1e-4
    x = G(z, [1])
    assert abs(D(x, [1]).item() - D(x, [7]).item()) > 1e-6


@pytest.mark.parametrize("labels, message", [
    ([0, 10], r"labels must lie in 0..9, got values 0..10"),
    ([-1, 2], r"labels must lie in 0..9"),
    (np.array([0.5, 2.0]), "whole numbers"),
    ([1, 2, 3], "got 3 labels for a batch of 2"),
    (np.zeros((2, 9), np.float32), "9 columns, expected 10"),
    (np.full((2, 10), 0.2, np.float32), "each row summing to 1|exactly one 1 per row"),
    (np.zeros((2, 1, 10)), r"shape \(N,\) or one-hot"),
])
def test_conditional_label_errors(labels, message):
    G, D = M.conditional_gan()
    with pytest.raises(ValueError, match=message):
        G(tg.randn(2, 100), labels)
    with pytest.raises(ValueError, match=message):
        D(tg.randn(2, 1, 28, 28), labels)


def test_the_generator_takes_mixtures_of_labels_and_the_discriminator_does_not():
    G, D = M.conditional_gan()
    G.eval()
    z, mix = tg.randn(1, 100), np.full((1, 10), 0.1, np.float32)
    inputs = tg.concatenate([z, tg.tensor(mix)], axis=1)
    np.testing.assert_allclose(G(z, mix).numpy(), G.body(inputs).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="exactly one 1 per row"):
        D(tg.randn(1, 1, 28, 28), mix)


def test_one_hot_encodes_and_keeps_float_labels_that_are_whole():
    y = M.one_hot(np.array([2.0, 0.0]))
    np.testing.assert_array_equal(y.numpy(), np.eye(10, dtype=np.float32)[[2, 0]])
    assert y.dtype == np.float32
    assert M.one_hot([1], like=tg.zeros(1, dtype=np.float64)).dtype == np.float64


def test_packed_adapters_match_direct_calls():
    G, D = M.conditional_gan()
    G.eval(), D.eval()
    z, labels = tg.randn(3, 100), [4, 4, 1]
    zy = tg.concatenate([z, M.one_hot(labels)], axis=1)
    packed = M.PackedGenerator(G)(zy)
    assert packed.shape == (3, 794)
    direct = G(z, labels)
    np.testing.assert_allclose(packed.numpy()[:, :784], direct.numpy().reshape(3, 784))
    np.testing.assert_array_equal(packed.numpy()[:, 784:], M.one_hot(labels).numpy())
    np.testing.assert_allclose(M.PackedDiscriminator(D)(packed).numpy(),
                               D(direct, labels).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"packed noise \[z \| y\] has shape \(3, 100\)"):
        M.PackedGenerator(G)(z)
    with pytest.raises(ValueError, match="packed sample"):
        M.PackedDiscriminator(D)(direct)


def test_packed_generator_sends_gradient_to_its_weights_only():
    G, D = M.conditional_gan()
    pg, pd = M.PackedGenerator(G), M.PackedDiscriminator(D)
    zy = tg.concatenate([tg.randn(4, 100), M.one_hot([0, 1, 2, 3])], axis=1)
    pd(pg(zy)).sum().backward()
    assert all(p.grad is not None for p in G.parameters())
    assert set(map(id, pg.parameters())) == set(map(id, G.parameters()))
