"""tinygan.testing must catch wrong derivatives: a Function with a deliberately wrong backward
fails gradcheck, one whose backward is right but not differentiable (it steps outside the graph)
passes gradcheck and fails gradgradcheck, and each message names the op, shapes and worst entry."""
import re

import numpy as np
import pytest

import tinygan as tg
from tinygan import Function, Tensor
from tinygan.testing import gradcheck, gradgradcheck, numerical_grad

X = np.array([[0.5, -1.0, 2.0, 0.25], [1.5, -0.75, 0.1, -2.0], [0.3, 0.9, -1.1, 1.7]])
WRONG_AT = (1, 2)


class BumpedSquare(Function):
    """f(x) = x^2 with a backward that is wrong at exactly one element (WRONG_AT)."""
    def forward(self, x):
        return x * x

    def backward(self, gy):
        x = self.inputs[0]
        bump = np.zeros(x.shape)
        bump[WRONG_AT] = 5.0
        return (gy * x * 2 + Tensor(bump),)


class ForgotTheTwo(Function):
    """f(x) = x^2 with the factor 2 missing from its gradient."""
    def forward(self, x):
        return x * x

    def backward(self, gy):
        return (gy * self.inputs[0],)


class OutsideTheGraph(Function):
    """f(x) = x^3 whose backward value is right, but built from the raw array: it is a
    constant to the gradient graph, so its own derivative (6x) is lost."""
    def forward(self, x):
        return x * x * x

    def backward(self, gy):
        return (gy * Tensor(3 * self.inputs[0].data ** 2),)


class WrongSecondInput(Function):
    """f(a, b) = a*b, b broadcast along axis 0, with b's gradient doubled."""
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return gy * b, (gy * a).sum(axis=0) * 2


class WrongShape(Function):
    """f(a, b) = a*b with b's gradient not summed back to b's shape."""
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return gy * b, gy * a


class WrongInnerSquare(Function):
    """f(x) = x^2 whose value is right and backward is wrong (the 2 is missing); used inside
    the next backward, it leaves that backward's value right but its derivative wrong."""
    def forward(self, x):
        return x * x

    def backward(self, gy):
        return (gy * self.inputs[0],)


class CubeWithWrongSquareInside(Function):
    """f(x) = x^3; df/dx = 3 x^2, computed with WrongInnerSquare (right value, wrong slope)."""
    def forward(self, x):
        return x * x * x

    def backward(self, gy):
        return (gy * 3 * WrongInnerSquare()(self.inputs[0]),)


def bumped_square(x):
    return BumpedSquare()(x)


def forgot_the_two(x):
    return ForgotTheTwo()(x)


def outside_the_graph(x):
    return OutsideTheGraph()(x)


def wrong_second_input(a, b):
    return WrongSecondInput()(a, b)


def wrong_shape(a, b):
    return WrongShape()(a, b)


def cube_with_wrong_square_inside(x):
    return CubeWithWrongSquareInside()(x)


def test_gradcheck_names_the_op_the_shapes_and_the_worst_entry():
    with pytest.raises(AssertionError) as info:
        gradcheck(bumped_square, X)
    message = str(info.value)
    assert "bumped_square" in message
    assert "(3, 4)" in message
    assert f"at element {WRONG_AT}" in message
    assert "first" in message and "input 0" in message


def test_gradcheck_catches_a_missing_factor():
    with pytest.raises(AssertionError, match=r"forgot_the_two.*\(3, 4\)"):
        gradcheck(forgot_the_two, X)


def test_gradcheck_reports_which_input_is_wrong():
    b = np.array([1.0, 2.0, -0.5, 0.7])
    with pytest.raises(AssertionError) as info:
        gradcheck(wrong_second_input, X, b)
    message = str(info.value)
    assert "wrong_second_input" in message and "input 1" in message
    assert "(3, 4)" in message and "(4,)" in message


def test_the_worst_entry_values_are_the_engine_and_the_differences():
    with pytest.raises(AssertionError) as info:
        gradcheck(bumped_square, X, seed=3)
    numbers = re.search(r"engine gives (\S+), finite differences give (\S+) ", str(info.value))
    engine, numeric = float(numbers.group(1)), float(numbers.group(2))
    v = np.random.default_rng(3).standard_normal(X.shape)  # gradcheck's cotangent for seed 3
    assert engine == pytest.approx(v[WRONG_AT] * 2 * X[WRONG_AT] + 5.0)
    assert numeric == pytest.approx(v[WRONG_AT] * 2 * X[WRONG_AT], rel=1e-6)


def test_gradgradcheck_catches_a_backward_that_leaves_the_graph():
    gradcheck(outside_the_graph, X)  # the first derivative is right ...
    with pytest.raises(AssertionError) as info:  # ... its derivative is not
        gradgradcheck(outside_the_graph, X)
    message = str(info.value)
    assert "second" in message and "outside_the_graph" in message
    assert "(3, 4)" in message and "at element (" in message


def test_gradgradcheck_catches_a_wrong_backward_inside_a_backward():
    gradcheck(cube_with_wrong_square_inside, X)
    with pytest.raises(AssertionError) as info:
        gradgradcheck(cube_with_wrong_square_inside, X)
    message = str(info.value)
    assert "second" in message and "cube_with_wrong_square_inside" in message
    assert "(3, 4)" in message


def test_gradgradcheck_assumes_the_first_derivative_was_checked():
    """Like PyTorch's, it checks the derivative of the engine's gradient against differences of
    that same gradient: a consistently wrong first derivative is gradcheck's to catch."""
    gradgradcheck(forgot_the_two, X)
    with pytest.raises(AssertionError):
        gradcheck(forgot_the_two, X)


def test_a_gradient_of_the_wrong_shape_is_reported_by_the_engine():
    with pytest.raises(RuntimeError) as info:
        gradcheck(wrong_shape, X, X[0])
    message = str(info.value)
    assert "WrongShape.backward" in message and "(3, 4)" in message and "(4,)" in message


def test_correct_functions_pass():
    assert gradcheck(lambda x: (x * x).tanh(), X)
    assert gradgradcheck(lambda x: (x * x).tanh(), X)
    assert gradgradcheck(lambda a, b: (a @ b).sigmoid(), X, X.T)


def test_linear_functions_pass_gradgradcheck():
    assert gradgradcheck(lambda x: 3 * x.sum(axis=0), X)


def test_integer_inputs_pass_through_undifferentiated():
    idx = np.array([2, 0, 2])
    assert gradcheck(lambda x, i: x[i], X, idx)


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda x: x * 2, X.astype(np.float32))


def test_gradcheck_needs_an_output_that_depends_on_the_inputs():
    with pytest.raises(AssertionError, match="does not depend"):
        gradcheck(lambda x: tg.tensor(np.ones(2)), X)


def test_numerical_grad_of_a_known_function():
    def f(args):
        return float((args[0] ** 3).sum() + (args[0] * args[1]).sum())
    x, y = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    np.testing.assert_allclose(numerical_grad(f, [x, y], 0, 1e-5), 3 * x ** 2 + y, rtol=1e-8)
    np.testing.assert_allclose(numerical_grad(f, [x, y], 1, 1e-5), x, rtol=1e-8)
