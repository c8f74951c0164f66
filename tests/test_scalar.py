"""Tests for chainrule.scalar.Value: every rule against finite differences and PyTorch."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scalar_ops import AWAY_FROM_0, H, floats
from scalar_ops import UNARY as SHARED_UNARY

from chainrule.scalar import Value

# name -> (function applied alike to Value and torch.Tensor, where to sample x)
UNARY = {
    **SHARED_UNARY,
    "cube_int": (lambda v: v**3, floats(-5, 5)),
    "pow_half": (lambda v: v**0.5, floats(0.01, 50)),
    "pow_neg": (lambda v: v**-1.5, floats(0.1, 10)),
    "add_const": (lambda v: v + 2.5, floats(-5, 5)),
    "radd": (lambda v: 2.5 + v, floats(-5, 5)),
    "sub_const": (lambda v: v - 2.5, floats(-5, 5)),
    "rsub": (lambda v: 1 - v, floats(-5, 5)),
    "mul_const": (lambda v: v * -3.0, floats(-5, 5)),
    "rmul": (lambda v: 2 * v, floats(-5, 5)),
    "div_const": (lambda v: v / 3.0, floats(-5, 5)),
    "rdiv": (lambda v: 2 / v, AWAY_FROM_0),
    "rpow": (lambda v: 2.0**v, floats(-5, 5)),
}

BINARY = {
    "add": (lambda a, b: a + b, floats(-5, 5), floats(-5, 5)),
    "sub": (lambda a, b: a - b, floats(-5, 5), floats(-5, 5)),
    "mul": (lambda a, b: a * b, floats(-5, 5), floats(-5, 5)),
    "div": (lambda a, b: a / b, floats(-5, 5), AWAY_FROM_0),
    "pow": (lambda a, b: a**b, floats(0.1, 5), floats(-3, 3)),
}


def grad_of(f, *xs: float) -> tuple[float, list[float]]:
    vs = [Value(x) for x in xs]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


def central_difference(f, xs: list[float], i: int) -> float:
    up, down = list(xs), list(xs)
    up[i] += H
    down[i] -= H
    return (f(*map(Value, up)).data - f(*map(Value, down)).data) / (2 * H)


def torch_grad_of(f, *xs: float) -> tuple[float, list[float]]:
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = f(*ts)
    out.backward()
    return out.item(), [t.grad.item() for t in ts]


def close(a: float, b: float, rel: float, abs_: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# --- every rule: finite differences and PyTorch -----------------------------------------------


@pytest.mark.parametrize("name", UNARY)
@settings(deadline=None, max_examples=50)
@given(data=st.data())
def test_unary_gradient_matches_finite_difference(name, data):
    f, domain = UNARY[name]
    x = data.draw(domain, label="x")
    _, (g,) = grad_of(f, x)
    assert close(g, central_difference(f, [x], 0), 1e-5, 1e-6)


@pytest.mark.parametrize("name", UNARY)
@settings(deadline=None, max_examples=50)
@given(data=st.data())
def test_unary_value_and_gradient_match_torch(name, data):
    f, domain = UNARY[name]
    x = data.draw(domain, label="x")
    out, (g,) = grad_of(f, x)
    t_out, (t_g,) = torch_grad_of(f, x)
    assert close(out, t_out, 1e-12, 1e-300)
    assert close(g, t_g, 1e-9, 1e-12)


@pytest.mark.parametrize("name", BINARY)
@settings(deadline=None, max_examples=50)
@given(data=st.data())
def test_binary_gradients_match_finite_difference(name, data):
    f, dom_a, dom_b = BINARY[name]
    xs = [data.draw(dom_a, label="a"), data.draw(dom_b, label="b")]
    _, grads = grad_of(f, *xs)
    for i, g in enumerate(grads):
        assert close(g, central_difference(f, xs, i), 1e-5, 1e-6)


@pytest.mark.parametrize("name", BINARY)
@settings(deadline=None, max_examples=50)
@given(data=st.data())
def test_binary_value_and_gradients_match_torch(name, data):
    f, dom_a, dom_b = BINARY[name]
    xs = [data.draw(dom_a, label="a"), data.draw(dom_b, label="b")]
    out, grads = grad_of(f, *xs)
    t_out, t_grads = torch_grad_of(f, *xs)
    assert close(out, t_out, 1e-12, 1e-300)
    for g, t_g in zip(grads, t_grads, strict=True):
        assert close(g, t_g, 1e-9, 1e-12)


def readme_expression(a, b):
    """micrograd's README example, with ``x += y`` written ``x = x + y`` (torch-safe)."""
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    return g + 10.0 / f


def smooth_expression(x, y):
    """Every smooth op at once, with sharing (x and y are used many times)."""
    return (
        (x * y).sin()
        + (x**2 + 1).log() * y.tanh()
        - (x - y).sigmoid() / (y * y + 1).sqrt()
        + (0.1 * x).exp() ** y.cos()
        + (x + 3) ** (y / 4)
    )


def test_micrograd_readme_example():
    a, b = Value(-4.0), Value(2.0)
    g = readme_expression(a, b)
    g.backward()
    assert g.data == pytest.approx(24.70408163265306, rel=1e-14)
    assert a.grad == pytest.approx(138.83381924198252, rel=1e-14)
    assert b.grad == pytest.approx(645.5772594752186, rel=1e-14)


def _defined(a: float, b: float) -> bool:
    """False where the expression divides by zero (f = (c - d)^2 = 0)."""
    try:
        readme_expression(Value(a), Value(b))
    except ValueError:
        return False
    return True


@settings(deadline=None, max_examples=50)
@given(a=floats(-5, 5), b=floats(-5, 5))
def test_readme_expression_matches_torch(a, b):
    assume(_defined(a, b))
    out, grads = grad_of(readme_expression, a, b)
    t_out, t_grads = torch_grad_of(readme_expression, a, b)
    assert close(out, t_out, 1e-10, 1e-12)
    for g, t_g in zip(grads, t_grads, strict=True):
        assert close(g, t_g, 1e-9, 1e-9)


def test_readme_example_matches_micrograd():
    engine = pytest.importorskip("micrograd.engine")
    ours, theirs = (Value(-4.0), Value(2.0)), (engine.Value(-4.0), engine.Value(2.0))
    g1, g2 = readme_expression(*ours), readme_expression(*theirs)
    g1.backward()
    g2.backward()
    assert g1.data == pytest.approx(g2.data, rel=1e-14)
    for p, q in zip(ours, theirs, strict=True):
        assert p.grad == pytest.approx(q.grad, rel=1e-14)


@settings(deadline=None, max_examples=50)
@given(x=floats(-2, 2), y=floats(-2, 2))
def test_smooth_expression_matches_finite_difference(x, y):
    _, grads = grad_of(smooth_expression, x, y)
    for i, g in enumerate(grads):
        assert close(g, central_difference(smooth_expression, [x, y], i), 1e-5, 1e-6)


@settings(deadline=None, max_examples=50)
@given(x=floats(-2, 2), y=floats(-2, 2))
def test_smooth_expression_matches_torch(x, y):
    out, grads = grad_of(smooth_expression, x, y)
    t_out, t_grads = torch_grad_of(smooth_expression, x, y)
    assert close(out, t_out, 1e-12, 1e-12)
    for g, t_g in zip(grads, t_grads, strict=True):
        assert close(g, t_g, 1e-9, 1e-12)


# --- the chapter's exercises ----------------------------------------------------------------


def test_exercise_12_forward_and_backward_by_hand():
    x1, x2, x3 = Value(1.0), Value(2.0), Value(-1.0)
    f = (x1 + x2) * (x2 + x3) * (x1 + x3)
    f.backward()
    assert f.data == 0.0
    assert (x1.grad, x2.grad, x3.grad) == (3.0, 0.0, 3.0)


def test_exercise_13_log_sigmoid_matches_closed_form_and_torch():
    f = lambda x: (2 * x + 3).sigmoid().log()
    out, (g,) = grad_of(f, 0.0)
    assert g == pytest.approx(2.0 / (1.0 + math.exp(3.0)), rel=1e-14)  # 2 sigmoid(-3)
    assert out == pytest.approx(-math.log1p(math.exp(-3.0)), rel=1e-14)
    assert g == pytest.approx(central_difference(f, [0.0], 0), rel=1e-8)
    t_out, (t_g,) = torch_grad_of(f, 0.0)
    assert (out, g) == (pytest.approx(t_out, rel=1e-14), pytest.approx(t_g, rel=1e-14))


def test_exercise_17_sin_sin_sin_reverse_mode():
    x = 0.7
    _, (g,) = grad_of(lambda v: v.sin().sin().sin(), x)
    assert g == pytest.approx(math.cos(math.sin(math.sin(x))) * math.cos(math.sin(x)) * math.cos(x))


# --- accumulation ---------------------------------------------------------------------------


def test_square_records_input_twice_and_accumulates():
    a = Value(3.0)
    b = a * a
    assert b._prev == (a, a) and b._op == "*"
    b.backward()
    assert a.grad == 6.0


def test_diamonds_accumulate():
    a = Value(1.5)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0 and b.grad == 2.0
    x = Value(2.0)
    y = x * 3.0
    z = (y + x) * (y - x)  # (4x)(2x) = 8x**2
    z.backward()
    assert x.grad == 16 * 2.0


def test_million_node_chain_backpropagates_without_recursion():
    x = Value(1.0)
    y = x
    for _ in range(10**6):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0 and y.grad == 1.0
    y.zero_grad()
    assert x.grad == 0.0


def test_backward_twice_accumulates_in_leaves_only():
    x = Value(3.0)
    h = x * x
    y = h + x  # dy/dx = 2x + 1 = 7
    y.backward()
    assert (x.grad, h.grad, y.grad) == (7.0, 1.0, 1.0)
    y.backward()
    assert x.grad == 14.0  # leaf: accumulated, as PyTorch's leaf .grad
    assert (h.grad, y.grad) == (1.0, 1.0)  # intermediate: the latest call's gradient
    y.zero_grad()
    y.backward()
    assert x.grad == 7.0


def test_backward_twice_matches_torch_retain_graph():
    torch = pytest.importorskip("torch")
    t = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    ty = t * t + t
    ty.backward(retain_graph=True)
    ty.backward()
    x = Value(3.0)
    y = x * x + x
    y.backward()
    y.backward()
    assert x.grad == t.grad.item()


def test_backward_on_a_leaf_and_a_shared_intermediate():
    a = Value(2.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0
    x, w = Value(2.0), Value(5.0)
    h = x * w
    (h + 1).backward()
    (h * 2).backward()
    assert (x.grad, w.grad) == (5.0 + 10.0, 2.0 + 4.0)
    assert h.grad == 2.0


def test_zero_grad_reaches_every_node():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    d.backward()
    d.zero_grad()
    assert [v.grad for v in (a, b, c, d)] == [0.0] * 4


# --- numerics at the edges --------------------------------------------------------------------


def test_sigmoid_is_stable_at_extremes():
    for x, s, ds in [(1000.0, 1.0, 0.0), (-1000.0, 0.0, 0.0), (-700.0, math.exp(-700.0), None)]:
        v = Value(x)
        out = v.sigmoid()
        out.backward()
        assert math.isfinite(out.data) and math.isfinite(v.grad)
        assert out.data == pytest.approx(s, rel=1e-12)
        assert v.grad == pytest.approx(ds if ds is not None else s, rel=1e-12)
    assert Value(40.0).sigmoid().data == 1.0


def test_sigmoid_extremes_match_torch():
    for x in (-1000.0, -50.0, 50.0, 1000.0):
        out, (g,) = grad_of(lambda v: v.sigmoid(), x)
        t_out, (t_g,) = torch_grad_of(lambda v: v.sigmoid(), x)
        assert out == pytest.approx(t_out, rel=1e-12, abs=1e-300)
        assert g == pytest.approx(t_g, rel=1e-12, abs=1e-20)


def test_overflow_gives_inf():
    assert grad_of(lambda v: v.exp(), 1000.0) == (math.inf, [math.inf])
    assert (Value(10.0) ** 400).data == math.inf
    assert (Value(-10.0) ** 401).data == -math.inf
    assert (Value(1e-300) / 1e-300 * 1e300 * 1e300).data == math.inf


@pytest.mark.parametrize(
    "f, x",
    [
        (lambda v: v**2, 0.0),
        (lambda v: v**0, 0.0),
        (lambda v: v**0.5, 0.0),
        (lambda v: v.sqrt(), 0.0),
        (lambda v: v.relu(), 0.0),
        (lambda v: v**3, -2.0),
    ],
)
def test_pow_sqrt_relu_edge_cases_match_torch(f, x):
    assert grad_of(f, x) == torch_grad_of(f, x)


@pytest.mark.parametrize("a, b", [(0.0, 2.0), (0.0, 0.0), (-2.0, 2.0), (-2.0, 3.0), (0.0, 0.5)])
def test_value_power_edge_cases_match_torch(a, b):
    out, grads = grad_of(lambda x, y: x**y, a, b)
    t_out, t_grads = torch_grad_of(lambda x, y: x**y, a, b)
    assert out == t_out
    for g, t_g in zip(grads, t_grads, strict=True):
        assert g == t_g or (math.isnan(g) and math.isnan(t_g))


# --- errors, API ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "f, message",
    [
        (lambda: Value(-1.0).log(), r"^log: argument must be positive, got -1\.0$"),
        (lambda: Value(0.0).log(), r"^log: argument must be positive, got 0\.0$"),
        (lambda: Value(0.0) ** -1, r"^pow: 0\.0 \*\* -1\.0 is undefined \(division by zero\)$"),
        (lambda: Value(0.0) ** Value(-1.0), r"^pow: 0\.0 \*\* -1\.0 is undefined"),
        (lambda: Value(-2.0) ** 0.5, r"^pow: -2\.0 \*\* 0\.5 is undefined \(negative base"),
        (lambda: Value(-2.0) ** Value(0.5), r"^pow: -2\.0 \*\* 0\.5 is undefined"),
        (lambda: (-8) ** Value(1 / 3), r"^pow: -8\.0 \*\* 0\.333"),
        (lambda: Value(-1.0).sqrt(), r"^sqrt: argument must be non-negative, got -1\.0$"),
        (lambda: Value(1.0) / 0, r"^div: 1\.0 / 0\.0 is undefined \(division by zero\)$"),
        (lambda: 1 / Value(0.0), r"^div: 1\.0 / 0\.0 is undefined \(division by zero\)$"),
    ],
)
def test_out_of_domain_raises_value_error_naming_op_and_value(f, message):
    with pytest.raises(ValueError, match=message):
        f()


@pytest.mark.parametrize(
    "f, message",
    [
        (lambda: Value(1.0) + "a", r"unsupported operand type\(s\) for \+: 'Value' and 'str'"),
        (lambda: "a" - Value(1.0), r"unsupported operand type\(s\) for -: 'str' and 'Value'"),
        (lambda: Value(1.0) / None, r"unsupported operand type\(s\) for /: 'Value' and 'NoneType'"),
        (lambda: Value(1.0) ** "2", r"unsupported operand type\(s\) for \*\* or pow\(\)"),
        (lambda: Value(1.0) * [1], r"can't multiply sequence|unsupported operand"),
        (lambda: Value("2"), r"^Value: data must be a real number, got str$"),
        (lambda: Value(Value(1.0)), r"^Value: data must be a real number, got Value$"),
    ],
)
def test_unsupported_types_raise_type_error(f, message):
    with pytest.raises(TypeError, match=message):
        f()


def test_repr_label_op_and_numbers():
    v = Value(2, label="w")
    assert repr(v) == "Value(data=2.0, grad=0.0)" and type(v.data) is float
    assert v.label == "w" and v._op == "" and v._prev == ()
    u = v * 3 + True
    assert u.data == 7.0 and u._op == "+" and (v**2)._op == "**2"
    np = pytest.importorskip("numpy")
    assert (Value(np.float32(1.5)) * np.int64(2)).data == 3.0
