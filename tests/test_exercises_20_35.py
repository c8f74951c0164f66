"""Exercises 20-35 (gradient identities, descent and curvature, numerical pitfalls, bonus):
each runs in fast mode with no failed check, its key numbers are recomputed here
independently, its figures are valid PNGs, and its result is JSON-ready."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

import chainrule.exercises.bonus
import chainrule.exercises.descent_curvature
import chainrule.exercises.identities
import chainrule.exercises.numerical_pitfalls  # noqa: F401  (registers 30-32)
from chainrule.exercises.registry import EXERCISES, GROUPS
from chainrule.exercises.result import Result

PNG = b"\x89PNG\r\n\x1a\n"
NUMBERS = range(20, 36)
_cache: dict[int, Result] = {}


def run(n: int) -> Result:
    """Each exercise runs once per session (fast mode); tests share the result."""
    if n not in _cache:
        _cache[n] = EXERCISES[n].run(fast=True)
    return _cache[n]


def torch_installed() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("n", NUMBERS)
def test_runs_with_no_failed_check(n):
    ex = EXERCISES[n]
    assert ex.group == GROUPS[4 if n <= 24 else 5 if n <= 29 else 6 if n <= 32 else 7]
    result = run(n)
    assert result.number == n and result.checks
    assert not result.failed, [(c.name, c.computed, c.reference) for c in result.failed]
    skips = [c for c in result.checks if c.status == "skip"]
    assert all("is not installed" in c.reason for c in skips), [c.reason for c in skips]
    if torch_installed():
        assert not [c for c in skips if "PyTorch" in c.reason], [c.name for c in skips]
    json.dumps(result.to_json())
    doc = ex.solve.__doc__ or ""
    assert "Method" in doc or "Derivation" in doc or "Analysis" in doc


@pytest.mark.parametrize("n", [25, 26, 29, 30])
def test_figures_are_png(n, tmp_path):
    pytest.importorskip("matplotlib", reason="figures need matplotlib (the plot extra)")
    result = run(n)
    assert result.figures
    paths = result.write_figures(tmp_path)
    assert len(paths) == len(result.figures)
    for path in paths:
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


def test_20_minimiser():
    q = run(20).quantities
    a, lam = np.array([1.0, -2.0, 3.0, 0.5]), 0.5
    np.testing.assert_allclose(q["minimiser by gradient descent"], a / (1 + lam), atol=1e-12)
    np.testing.assert_allclose(q["gradient at x"], 2 * (q["x"] - a) + 2 * lam * q["x"])


def test_21_softmax_cross_entropy_gradient():
    q = run(21).quantities
    e = np.exp([1.0, 2.0, 3.0])
    expected = e / e.sum() - [0, 1, 0]
    np.testing.assert_allclose(q["gradient (autodiff)"], expected, rtol=1e-12)
    np.testing.assert_allclose(q["gradient (autodiff)"], [0.0900, -0.7553, 0.6652], atol=5e-5)
    assert abs(q["sum of components"]) < 1e-15


def test_22_logistic_gradient():
    q = run(22).quantities
    w, x = q["w"], q["x"]
    for y in (1.0, -1.0):
        expected = -y * x / (1 + math.exp(y * float(w @ x)))
        np.testing.assert_allclose(q[f"gradient, y = {y:+.0f}"], expected, rtol=1e-12)


def test_23_newton_lands_on_x0():
    q = run(23).quantities
    np.testing.assert_allclose(q["after one Newton step"],
                               np.tile(q["x0"], (len(q["starting points"]), 1)), atol=1e-12)


def test_24_trace_gradient():
    q = run(24).quantities
    a, b, c = q["A"], q["B (symmetric)"], q["B (not symmetric)"]
    np.testing.assert_allclose(q["gradient (symmetric B)"], 2 * b @ a, rtol=1e-12)
    np.testing.assert_allclose(q["gradient (non-symmetric B)"], (c + c.T) @ a, rtol=1e-12)


def test_25_stability_and_trajectory():
    q = run(25).quantities
    assert q["largest stable lr"] == pytest.approx(0.02, rel=1e-12)
    first = q["lr = 0.01: first iterates"]
    np.testing.assert_allclose(first, [[1, 1], [0.99, 0], [0.9801, 0], [0.970299, 0]],
                               rtol=1e-12, atol=1e-15)
    assert np.linalg.norm(q["w after 1000 steps at lr = 1.01 * 0.02"]) > 1e8


def test_26_momentum_is_slower_here():
    q = run(26).quantities
    steps = q["steps until the loss stays below 1e-6"]
    assert steps["GD lr=0.05"] == 66       # 0.81^66 < 1e-6 <= 0.81^65
    assert steps["momentum 0.9, lr=0.05"] > 2 * steps["GD lr=0.05"]
    assert steps["momentum tuned"] < steps["GD lr=1/11 (tuned)"]
    assert q["measured contraction per step"]["momentum 0.9, lr=0.05"] == pytest.approx(
        math.sqrt(0.9), rel=1e-3)


def test_27_critical_points():
    q = run(27).quantities
    np.testing.assert_allclose(q["critical points found"], [[-1, 0], [0, 0], [1, 0]], atol=1e-9)
    kinds = {k: v["kind"] for k, v in q["classification"].items()}
    assert sorted(kinds.values()) == ["minimum", "minimum", "saddle"]
    np.testing.assert_allclose(q["classification"]["(+0, +0)"]["Hessian eigenvalues"], [-4, 2])


def test_28_newton_exact_and_net_hessian_indefinite():
    q = run(28).quantities
    assert q["||Newton step result - t*||"] < 1e-9
    assert q["tiny net: negative eigenvalues"] > 0
    assert q["784-128-2 MNIST net: parameters"] == 784 * 128 + 128 + 128 * 2 + 2


def test_29_saddle_escape():
    q = run(29).quantities
    k = np.arange(80)
    dist = np.hypot(0.8 ** k, 1e-4 * 1.2 ** k)
    assert q["at step"] == int(np.argmin(dist))
    assert q["closest approach to (0, 0)"] == pytest.approx(dist.min(), rel=1e-9)
    assert q["escape step (|y| > 1)"] == 51
    assert q["from (1, 0) after 200 steps"][1] == 0.0


def test_30_central_differences():
    q = run(30).quantities
    errors = q["errors at x=1"]
    assert errors["h=0.001"] == pytest.approx(1e-6 * math.e / 6, rel=1e-3)
    typical = q["typical relative errors (RMS over x in [0.9, 1.1])"]
    assert 1e-12 < typical["h=1e-05"] < 1e-10 < typical["h=1e-07"] < 1e-8
    assert 1e-7 < typical["h=1e-10"] < 1e-5
    assert q["best h of the four (typical error)"] == 1e-5


def test_31_stable_softmax():
    q = run(31).quantities
    k = np.arange(11)
    np.testing.assert_allclose(q["stable softmax"], np.exp(k - 10) / np.exp(k - 10).sum(),
                               rtol=1e-14)
    assert np.isnan(q["naive exp(z) / sum exp(z)"]).all()
    assert np.isnan(q["naive on z + 1990 = (990, ..., 1000)"]).all()


def test_32_every_bug_diagnosed_and_fixed():
    q = run(32).quantities
    assert set(q) == {"forgotten requires_grad", "detach", "argmax in the loss",
                      "in-place overwrite", "dead ReLU"}
    assert "numerical_pitfalls.py" in q["detach"]["diagnosis"]["W1"]   # the line of the bug
    for name, v in q.items():
        assert "W1" in v["diagnosis"], name
        bad, fixed = v["training accuracy (bug, fixed)"]
        assert fixed > 0.9 and fixed > bad, name


def test_33_mnist():
    q = run(33).quantities
    assert q["test accuracy per epoch"][-1] > 0.9
    if torch_installed():
        assert q["gradient check after training (256 test images)"]["max_relative_error"] < 1e-4


def test_34_depth():
    q = run(34).quantities
    vanish = q["vanishing: gain 0.8, |x| = 1"]
    assert vanish["||dh_L/dx||"] <= 0.8 ** 30
    explode = q["exploding: gain 1.25, |x| = 1e-3 / 1.25^L (linear range)"]
    assert explode["||dh_L/dx||"] == pytest.approx(1.25 ** 30, rel=1e-4)
    assert q["gain 1.25, |x| = 1 (saturating)"]["||dh_L/dx||"] < 0.1 * 1.25 ** 30


def test_35_checkpointing():
    q = run(35).quantities
    assert q["layer evaluations (plain, checkpointed)"] == (100, 190)
    assert q["measured memory ratio"] < 0.2
    assert q["peak bytes held, plain backprop"] >= 100 * q["one activation (bytes)"]
    # the estimate's model, (s r + L/s) / L with r = checkpoint / layer bytes (s - 1 stored:
    # the input is the caller's), against the measured peaks of the real network
    layers, s = 100, 10
    r = q["one activation (bytes)"] / (q["peak bytes held, plain backprop"] / layers)
    assert q["measured memory ratio"] == pytest.approx(((s - 1) * r + layers / s) / layers,
                                                       rel=0.1)
    est = q["100-layer transformer estimate"]
    assert 0.1 < est["memory ratio, transformer r"] < 0.11


@pytest.mark.parametrize("n", [21, 22, 28, 31, 32, 34])
def test_without_torch_the_torch_checks_skip(n, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)   # `import torch` now raises ImportError
    result = EXERCISES[n].run(fast=True)
    skips = [c for c in result.checks if c.status == "skip"]
    assert any(c.reason == "PyTorch is not installed" for c in skips)
    assert all(c.reason for c in skips)  # other optional references (mpmath) may skip too
    assert not result.failed
    assert not [c for c in result.checks if c.source == "PyTorch" and c.status == "pass"]
