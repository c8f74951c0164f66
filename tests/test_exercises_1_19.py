"""Exercises 1-19 (limits/Taylor, gradients/Jacobians, graphs/reverse mode, forward vs
reverse): each runs in fast mode with no failed check, and key numbers are recomputed here
independently of the exercise code."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil

import numpy as np
import pytest

import chainrule.exercises.forward_reverse  # noqa: F401  (registers exercises 17-19)
import chainrule.exercises.gradients_jacobians as gradients_jacobians
import chainrule.exercises.graphs_reverse as graphs_reverse
import chainrule.exercises.limits_taylor  # noqa: F401  (registers exercises 1-5)
from chainrule.exercises.registry import EXERCISES, GROUPS
from chainrule.scalar import Value

NUMBERS = range(1, 20)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def results():
    """Each exercise run once in fast mode, shared by the tests below."""
    return {n: EXERCISES[n].run(fast=True) for n in NUMBERS}


def sigmoid(u: float) -> float:
    return 1.0 / (1.0 + math.exp(-u))


@pytest.mark.parametrize("n", NUMBERS)
def test_runs_fast_with_no_failed_check(results, n):
    res = results[n]
    assert res.number == n
    assert EXERCISES[n].group in GROUPS
    assert res.checks, f"exercise {n} has no checks"
    assert not res.failed, [(c.name, c.computed, c.reference) for c in res.failed]
    for check in res.checks:
        assert check.status in ("pass", "skip")
        if check.status == "skip":
            assert check.reason
    json.dumps(res.to_json())  # --json must be able to print it


@pytest.mark.parametrize("n", NUMBERS)
def test_docstring_states_task_and_method(n):
    doc = EXERCISES[n].solve.__doc__
    assert doc and len(doc.split()) > 15


def test_groups_and_stars():
    expected = {1: 0, 6: 0, 8: 1, 11: 2, 12: 0, 13: 1, 14: 1, 17: 1, 18: 0}
    assert {n: EXERCISES[n].stars for n in expected} == expected
    assert [EXERCISES[n].group for n in (1, 6, 12, 17)] == list(GROUPS[:4])


def test_ex01_limits(results):
    q = results[1].quantities
    x = 1.5
    assert q["autodiff f'(x) 1/x"] == pytest.approx(-1 / x**2, rel=1e-14)
    assert q["autodiff f'(x) sqrt(x)"] == pytest.approx(1 / (2 * math.sqrt(x)), rel=1e-14)
    assert q["autodiff f'(x) exp(2x)"] == pytest.approx(2 * math.exp(3.0), rel=1e-14)
    h = q["h"][2]
    assert q["quotients sqrt(x)"][2] == pytest.approx((math.sqrt(x + h) - math.sqrt(x)) / h)
    errors = q["|q(h) - f'(x)| exp(2x)"]
    assert np.all(np.diff(errors) < 0)  # the quotient converges as h shrinks


def test_ex02_oscillation(results):
    q = results[2].quantities
    assert np.allclose(q["f'(1/(2 pi k))"], -1.0, atol=1e-6)
    assert np.allclose(q["f'(1/((2k+1) pi))"], 1.0, atol=1e-6)
    h = q["h"]
    assert np.allclose(q["(f(h) - f(0))/h"], h * np.sin(1 / h), rtol=1e-10)
    lo, hi = q["range of f' on (0, 1e-06)"]
    assert lo < -0.99 and hi > 0.99


def test_ex03_sqrt(results):
    q = results[3].quantities
    assert q["p2(0.1)"] == pytest.approx(1 + 0.1 / 2 - 0.1**2 / 8, rel=1e-15)
    assert q["Lagrange bound"] == pytest.approx(3 / 8 * 0.1**3 / 6, rel=1e-12)
    assert q["actual error"] == pytest.approx(math.sqrt(1.1) - 1.04875, rel=1e-12)
    assert q["actual error"] < q["Lagrange bound"]


def test_ex04_log(results):
    q = results[4].quantities
    assert q["p2(0.05)"] == pytest.approx(0.05 - 0.05**2 / 2, rel=1e-15)
    assert q["actual error"] == pytest.approx(abs(math.log1p(0.05) - 0.04875), rel=1e-12)
    assert q["Lagrange bound"] == pytest.approx(0.05**3 / 3, rel=1e-12)


def test_ex05_lipschitz(results):
    q = results[5].quantities
    grid = np.linspace(-1.5, 1.5, 200001)
    sup = np.max(np.abs(3 * np.cos(3 * grid) + grid / 2))
    assert q["sup |f'| on the grid (autodiff)"] == pytest.approx(sup, rel=1e-6)
    assert q["max |f(x)-f(y)|/|x-y| over pairs"] <= q["M"]


def test_ex06_gradient_hessian(results):
    q = results[6].quantities
    x1, x2 = q["point"]
    e = math.exp(x2)
    assert np.allclose(q["grad f(point)"], [2 * x1 * e, x1**2 * e], rtol=1e-14)
    assert np.allclose(q["H f(point)"], [[2 * e, 2 * x1 * e], [2 * x1 * e, x1**2 * e]])
    assert q["max |grad f| on x1 = 0 (13 points)"] == 0.0
    assert np.allclose(q["Hessian eigenvalues at (0, 0.7)"], [0.0, 2 * math.exp(0.7)])


def test_ex07_jacobian(results):
    q = results[7].quantities
    c = math.cos(1.0)
    assert np.allclose(q["J(1, 0)"], [[2, 0], [0, 1], [c, c]], rtol=1e-15)
    assert q["mode"] == "forward"


def test_ex08_quadratic_form(results):
    q = results[8].quantities
    B, x = q["B"], q["x"]
    for kind in ("symmetric", "non-symmetric"):
        A = q[f"A ({kind})"]
        assert np.allclose(q[f"grad ({kind})"], B.T @ (A + A.T) @ B @ x, rtol=1e-12)


def test_ex09_softplus_gradient(results):
    q = results[9].quantities
    a, x = q["a"], q["x"]
    assert np.allclose(q["gradient"], sigmoid(float(a @ x)) * a, rtol=1e-13)
    assert np.allclose(q["softplus gradient at a^T x = 800"], a, rtol=1e-13)


def test_ex10_normal(results):
    q = results[10].quantities
    assert np.allclose(q["grad f(1, 1)"], [2, 8])
    assert np.allclose(q["tangent gamma'(t0)"], [-2, 0.5])
    assert abs(q["grad . tangent"]) < 1e-12
    assert np.allclose(q["semi-axes for c = 5"], [math.sqrt(5), math.sqrt(5) / 2])


def test_ex11_chain_rule(results):
    q = results[11].quantities

    def jac(x, y):
        return np.array([[math.cos(x) * math.cos(y), -math.sin(x) * math.sin(y)],
                         [-math.sin(x) * math.sin(y), math.cos(x) * math.cos(y)]])

    p = (math.pi / 4, math.pi / 3)
    fp = (math.sin(p[0]) * math.cos(p[1]), math.cos(p[0]) * math.sin(p[1]))
    assert np.allclose(q["J_{F o F}(p)"], jac(*fp) @ jac(*p), rtol=1e-14)
    sympy_checks = [c for c in results[11].checks if c.source == "SymPy"]
    expected = "pass" if importlib.util.find_spec("sympy") else "skip"
    assert sympy_checks and all(c.status == expected for c in sympy_checks)


def test_ex11_without_sympy_skips(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(gradients_jacobians.importlib.util, "find_spec",
                        lambda name, *a: None if name == "sympy" else real(name, *a))
    res = EXERCISES[11].run(fast=True)
    skips = [c for c in res.checks if c.status == "skip"]
    assert len(skips) == 1 and "SymPy" in skips[0].reason
    assert not res.failed


def test_ex12_adjoints(results):
    q = results[12].quantities
    assert {k: q["forward values"][k] for k in "abcf"} == {"a": 3, "b": 1, "c": 0, "f": 0}
    assert {k: q["adjoints"][k] for k in "abc"} == {"a": 0, "b": 0, "c": 3}
    assert q["gradient"] == [3, 0, 3]


def test_ex12_graph_figure_is_png(results, tmp_path):
    if not shutil.which("dot"):
        pytest.importorskip("matplotlib", reason="no Graphviz: matplotlib draws it")
    paths = results[12].write_figures(tmp_path)
    assert [p.name for p in paths] == ["ex12-graph.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert path.stat().st_size > 1000


def test_ex12_dot_text_and_renderer(results):
    dot_text = results[12].quantities["graph (DOT)"]
    assert dot_text.startswith("digraph") and "grad 3" in dot_text
    drawn_by = "Graphviz" if shutil.which("dot") else "matplotlib"
    assert any(drawn_by in note for note in results[12].notes)


def test_only_ex12_draws_in_this_range(results):
    assert [n for n in NUMBERS if results[n].figures] == [12]


def test_ex13_log(results):
    q = results[13].quantities
    assert q["df/dx at 0"] == pytest.approx(2 * (1 - sigmoid(3.0)), rel=1e-14)
    torch_checks = [c.status for c in results[13].checks if c.source == "PyTorch"]
    assert torch_checks == (["pass", "pass"] if HAS_TORCH else [])


def test_ex13_without_torch_skips(monkeypatch):
    monkeypatch.setattr(graphs_reverse, "torch_or_skip", lambda name: None)
    res = EXERCISES[13].run(fast=True)
    assert [c.status for c in res.checks if c.status == "skip"] == ["skip"]
    assert not res.failed


def test_value_log_domain():
    with pytest.raises(ValueError, match="value_log"):
        graphs_reverse.value_log(Value(0.0))
    v = Value(2.0)
    graphs_reverse.value_log(v).backward()
    assert v.grad == 0.5


def test_ex14_accumulation(results):
    q = results[14].quantities
    assert q["b._prev is (a, a)"] is True
    assert q["contributions to a.grad"] == [3.0, 3.0]
    assert q["a.grad"] == 6.0
    assert q["with = instead of +="] == 3.0


def test_ex15_least_squares(results):
    q = results[15].quantities
    rng = np.random.default_rng(15)  # the exercise's data
    xs = rng.uniform(-1, 1, 50)
    ys = 1.5 * xs - 0.7 + 0.2 * rng.standard_normal(50)
    xm, ym = xs.mean(), ys.mean()
    w = np.sum((xs - xm) * (ys - ym)) / np.sum((xs - xm) ** 2)  # normal equations
    assert np.allclose(q["(w, b) by gradient descent"], [w, ym - w * xm], rtol=1e-8)


def test_mse_loss_on_values():
    preds = [Value(1.0), Value(2.0)]
    loss = graphs_reverse.mse_loss(preds, [0.0, 4.0])
    assert loss.data == pytest.approx((1 + 4) / 2)
    loss.backward()
    assert [p.grad for p in preds] == [pytest.approx(1.0), pytest.approx(-2.0)]
    with pytest.raises(ValueError, match="mse_loss: 2 predictions but 1 targets"):
        graphs_reverse.mse_loss(preds, [1.0])
    with pytest.raises(ValueError, match="mse_loss"):
        graphs_reverse.mse_loss([], [])


def test_ex16_timings(results):
    q = results[16].quantities
    # backward: a weight gradient per layer, an input gradient for layers 2 and 3
    ratio = ((2 * 1024 + 2 * 1024 * 1024 + 2 * 1024 * 10)
             / (2 * 1024 + 1024 * 1024 + 1024 * 10))
    assert q["matmul FLOP ratio backward/forward"] == pytest.approx(ratio, rel=1e-12)
    graph = next(c for c in results[16].checks if "on the recorded graph" in c.name)
    assert graph.status == "pass" and graph.computed == pytest.approx(ratio, rel=1e-12)
    assert q["chainrule forward ms"] > 0 and q["chainrule backward ms"] > 0  # reported only
    assert ("PyTorch backward/forward" in q) == HAS_TORCH
    assert any("rule of thumb" in note for note in results[16].notes)


def test_ex17_forward_equals_reverse(results):
    q = results[17].quantities
    x = 1.0
    exact = math.cos(math.sin(math.sin(x))) * math.cos(math.sin(x)) * math.cos(x)
    i = q["x"].index(x)
    assert q["F'(x) forward (Dual)"][i] == pytest.approx(exact, rel=1e-15)
    assert q["F'(x) reverse (Value)"][i] == pytest.approx(exact, rel=1e-15)
    assert q["tangents x, s1, s2, s3 at x = 1 (forward)"][-1] == pytest.approx(exact)
    assert q["adjoints x, s1, s2, s3 at x = 1 (reverse)"][0] == pytest.approx(exact)


@pytest.mark.parametrize(("n", "mode", "passes"), [(18, "reverse", (1000, 2)),
                                                   (19, "forward", (2, 1000))])
def test_ex18_19_modes(results, n, mode, passes):
    q = results[n].quantities
    assert q["auto mode"] == mode
    assert q["passes (forward, reverse)"] == passes
    assert q["evaluations of f (forward, reverse)"] == (passes[0], 1)
    fwd, rev = q["seconds (forward, reverse)"]  # reported only: no wall-clock assertion
    assert fwd > 0 and rev > 0
