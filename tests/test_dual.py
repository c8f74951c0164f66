"""Tests for chainrule.dual: tangents against finite differences and the reverse-mode Value."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scalar_ops import AWAY_FROM_0, UNARY, H, floats

from chainrule.dual import Dual, derivative
from chainrule.scalar import Value

# name -> (function applied alike to Dual and Value, where to sample x)
OPS = {
    **UNARY,
    "pow_neg": (lambda v: v**-1.5, floats(0.1, 10)),
    "pow_self": (lambda v: v**v, floats(0.1, 3)),
    "add": (lambda v: v + 2.5 + v, floats(-5, 5)),
    "radd": (lambda v: 2.5 + v, floats(-5, 5)),
    "sub": (lambda v: v - 2.5 - v * v, floats(-5, 5)),
    "rsub": (lambda v: 1 - v, floats(-5, 5)),
    "mul": (lambda v: v * -3.0 * v, floats(-5, 5)),
    "rmul": (lambda v: 2 * v, floats(-5, 5)),
    "div": (lambda v: (v * v + 1) / v, AWAY_FROM_0),
    "rdiv": (lambda v: 2 / v, AWAY_FROM_0),
    "rpow": (lambda v: 2.0**v, floats(-5, 5)),
    "composite": (lambda v: (v.sin() * v.exp() + 1).log() / (v * v + 1).sqrt(), floats(-1, 1)),
}


def reverse_mode(f, x: float) -> float:
    v = Value(x)
    f(v).backward()
    return v.grad


def central_difference(f, x: float) -> float:
    return (f(Dual(x + H)).value - f(Dual(x - H)).value) / (2 * H)


@pytest.mark.parametrize("name", OPS)
@settings(deadline=None, max_examples=50)
@given(data=st.data())
def test_tangent_matches_finite_difference_and_reverse_mode(name, data):
    f, domain = OPS[name]
    x = data.draw(domain, label="x")
    out = f(Dual(x, 1.0))
    assert out.value == f(Value(x)).data
    assert math.isclose(out.tangent, central_difference(f, x), rel_tol=1e-5, abs_tol=1e-6)
    assert math.isclose(out.tangent, reverse_mode(f, x), rel_tol=1e-12, abs_tol=1e-15)
    assert derivative(f, x) == out.tangent


@settings(deadline=None, max_examples=50)
@given(x=floats(-10, 10))
def test_exercise_17_sin_sin_sin_forward_equals_reverse_equals_closed_form(x):
    f = lambda v: v.sin().sin().sin()
    closed = math.cos(math.sin(math.sin(x))) * math.cos(math.sin(x)) * math.cos(x)
    forward, reverse = derivative(f, x), reverse_mode(f, x)
    assert math.isclose(forward, closed, rel_tol=1e-13, abs_tol=1e-15)
    assert math.isclose(reverse, closed, rel_tol=1e-13, abs_tol=1e-15)


def test_tangent_scales_with_seed_and_two_input_directions():
    x, y = 1.5, -0.5
    f = lambda a, b: a * b.exp() + b**2
    # directional derivatives along e_x and e_y are the partial derivatives
    assert f(Dual(x, 1.0), Dual(y)).tangent == pytest.approx(math.exp(y))
    assert f(Dual(x), Dual(y, 1.0)).tangent == pytest.approx(x * math.exp(y) + 2 * y)
    assert f(Dual(x, 3.0), Dual(y)).tangent == pytest.approx(3 * math.exp(y))


def test_power_with_dual_exponent():
    out = Dual(2.0, 1.0) ** Dual(3.0, 1.0)  # d(x**y) = y x**(y-1) dx + x**y log x dy
    assert out.value == 8.0
    assert out.tangent == pytest.approx(3 * 4 + 8 * math.log(2.0))


def test_zero_tangent_stays_zero_at_singular_points():
    assert (Dual(-2.0, 1.0) ** Dual(2.0)).tangent == -4.0  # constant exponent: no log(-2)
    assert (Dual(0.0) ** 0.5).tangent == 0.0  # inf * 0 would be nan
    assert Dual(0.0).sqrt().tangent == 0.0
    assert Dual(0.0, 1.0).sqrt().tangent == math.inf
    assert math.isnan((Dual(-2.0) ** Dual(2.0, 1.0)).tangent)  # d/dy (-2)**y: no real value


def test_sigmoid_and_exp_at_extremes():
    for x, s in [(1000.0, 1.0), (-1000.0, 0.0)]:
        out = Dual(x, 1.0).sigmoid()
        assert (out.value, out.tangent) == (s, 0.0)
    out = Dual(-700.0, 1.0).sigmoid()
    assert out.value == pytest.approx(math.exp(-700.0), rel=1e-12)
    assert out.tangent == pytest.approx(math.exp(-700.0), rel=1e-12)
    assert (Dual(1000.0, 1.0).exp().value, Dual(1000.0, 1.0).exp().tangent) == (math.inf,) * 2


def test_comparisons_use_values_so_branches_work():
    a, b = Dual(1.0, 5.0), Dual(2.0, -1.0)
    assert a < b and a <= b and b > a and b >= a and a != b
    assert a == Dual(1.0, 7.0) and a == 1 and 1.0 <= a <= 1.0 and 0 < a < 2
    assert hash(a) == hash(1.0) and len({a, Dual(1.0)}) == 1
    absolute = lambda x: x if x > 0 else -x
    assert derivative(absolute, -2.0) == -1.0 and derivative(absolute, 3.0) == 1.0
    assert max(a, b) is b


def test_derivative_of_constant_and_identity():
    assert derivative(lambda x: 3.0, 1.0) == 0.0
    assert derivative(lambda x: x, 1.0) == 1.0
    with pytest.raises(TypeError, match=r"^derivative: f must return a Dual or a real number"):
        derivative(lambda x: "no", 1.0)


@pytest.mark.parametrize(
    "f, message",
    [
        (lambda: Dual(-1.0).log(), r"^log: argument must be positive, got -1\.0$"),
        (lambda: Dual(0.0) ** -1, r"^pow: 0\.0 \*\* -1\.0 is undefined \(division by zero\)$"),
        (lambda: Dual(-2.0) ** 0.5, r"^pow: -2\.0 \*\* 0\.5 is undefined \(negative base"),
        (lambda: Dual(-2.0) ** Dual(0.5), r"^pow: -2\.0 \*\* 0\.5 is undefined"),
        (lambda: Dual(-1.0).sqrt(), r"^sqrt: argument must be non-negative, got -1\.0$"),
        (lambda: Dual(1.0) / 0, r"^div: 1\.0 / 0\.0 is undefined \(division by zero\)$"),
        (lambda: 1 / Dual(0.0), r"^div: 1\.0 / 0\.0 is undefined \(division by zero\)$"),
    ],
)
def test_out_of_domain_raises_value_error(f, message):
    with pytest.raises(ValueError, match=message):
        f()


@pytest.mark.parametrize(
    "f, message",
    [
        (lambda: Dual(1.0) + "a", r"unsupported operand type\(s\) for \+: 'Dual' and 'str'"),
        (lambda: Dual(1.0) * Value(2.0), r"for \*: 'Dual' and 'Value'"),
        (lambda: Dual(1.0) < "a", r"'<' not supported between instances of 'Dual' and 'str'"),
        (lambda: Dual("1"), r"^Dual: value must be a real number, got str$"),
        (lambda: Dual(Dual(1.0), 1.0), r"^Dual: value must be a real number; nested Duals"),
        (lambda: Dual(1.0, Dual(1.0)), r"^Dual: tangent must be a real number; nested Duals"),
    ],
)
def test_unsupported_types_raise_type_error(f, message):
    with pytest.raises(TypeError, match=message):
        f()


def test_repr_and_float_conversion():
    d = Dual(2, 1)
    assert repr(d) == "Dual(value=2.0, tangent=1.0)"
    assert type(d.value) is float and type(d.tangent) is float
    assert repr(Dual(0.5)) == "Dual(value=0.5, tangent=0.0)"
