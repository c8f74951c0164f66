"""chainrule.check: finite differences, gradcheck (reverse, forward, second order) and the
comparison with PyTorch. Deliberately wrong rules must be caught, with the worst element named."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import (
    GradcheckError,
    GradcheckReport,
    compare_with_torch,
    gradcheck,
    numerical_jacobian,
)
from chainrule.tensor import Tensor

X = np.array([0.3, -1.2, 2.0])


def smooth(x):
    return cr.tanh(x) * cr.sum(x ** 2)


@cr.primitive
def wrong_vjp_sin(x):
    return np.sin(x)


wrong_vjp_sin.defvjp(lambda g, ans, x: g * cr.sin(x))  # wrong: d sin = cos
wrong_vjp_sin.defjvp(lambda t, ans, x: t * cr.cos(x))  # right


@cr.primitive
def wrong_jvp_exp(x):
    return np.exp(x)


wrong_jvp_exp.defvjp(lambda g, ans, x: g * ans)        # right
wrong_jvp_exp.defjvp(lambda t, ans, x: t * ans * 1.01)  # 1% off


@cr.primitive
def frozen_rule_sin(x):
    return np.sin(x)


def _frozen_cos(x):
    """cos x with the derivative cut off: right values, but not differentiable again."""
    return np.cos(x.data if isinstance(x, Tensor) else x)


frozen_rule_sin.defvjp(lambda g, ans, x: g * _frozen_cos(x))
frozen_rule_sin.defjvp(lambda t, ans, x: t * _frozen_cos(x))


def test_numerical_jacobian_matches_closed_form():
    (j,) = numerical_jacobian(lambda x: cr.sin(x) * x[0], X)
    want = np.diag(np.cos(X)) * X[0]
    want[:, 0] += np.sin(X)
    np.testing.assert_allclose(j, want, rtol=1e-8, atol=1e-10)


def test_gradcheck_passes_a_correct_function_in_both_modes():
    report = gradcheck(smooth, X)
    assert isinstance(report, GradcheckReport) and report.passed and bool(report)
    assert [(c.name, c.kind) for c in report.checks] == [("fwd", "full Jacobian"),
                                                         ("rev", "full Jacobian")]
    assert report.max_abs_error < 1e-8 and report.max_rel_error < 1e-7


def test_gradcheck_uses_random_directions_for_large_inputs():
    x = np.random.default_rng(0).standard_normal(500)
    report = gradcheck(lambda x: cr.sum(cr.sin(x) * x), x)
    assert report.passed
    assert {c.kind for c in report.checks} == {"random directions"}


def test_gradcheck_several_inputs_and_tuple_outputs():
    f = lambda a, b: (a @ b, cr.exp(a).sum())
    a, b = np.random.default_rng(1).standard_normal((2, 3, 3))
    report = gradcheck(f, a, b)
    assert report.passed and len(report.checks) == 4  # (fwd, rev) x (a, b)


def test_gradcheck_catches_a_wrong_vjp_and_names_the_worst_element():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: wrong_vjp_sin(x) * 2.0, X)
    message = str(info.value)
    analytic, numeric = 2 * np.sin(X), 2 * np.cos(X)
    # the worst element: the largest error measured in tolerances, atol + rtol |numeric|
    worst = int(np.argmax(np.abs(analytic - numeric) / (1e-5 + 1e-3 * np.abs(numeric))))
    assert f"rev derivative at d out[{worst}] / d input 0[{worst}]" in message
    assert f"is {analytic[worst]:.10g}" in message
    given = re.search(r"finite differences give (\S+)", message).group(1)
    assert float(given) == pytest.approx(numeric[worst], rel=1e-8)
    report = info.value.report
    assert [c.passed for c in report.checks] == [True, False]  # the jvp rule is right
    assert report.failures[0].max_abs_error == pytest.approx(
        np.max(np.abs(analytic - numeric)), rel=1e-6)


def test_gradcheck_catches_a_wrong_vjp_on_large_inputs_too():
    x = np.random.default_rng(2).standard_normal(300)
    report = gradcheck(lambda x: cr.sum(wrong_vjp_sin(x)), x, modes="rev",
                       raise_on_fail=False)
    assert not report.passed and report.checks[0].kind == "random directions"


def test_gradcheck_catches_a_wrong_jvp_only_in_forward_mode():
    assert gradcheck(wrong_jvp_exp, X, modes="rev").passed
    report = gradcheck(wrong_jvp_exp, X, modes=("fwd", "rev"), raise_on_fail=False)
    assert [c.passed for c in report.checks] == [False, True]
    # relative error |a - n| / max(|a|, |n|) = 0.01 / 1.01
    assert report.failures[0].max_rel_error == pytest.approx(0.01 / 1.01, rel=1e-6)


def test_second_order_catches_a_rule_that_is_not_differentiable():
    # first derivatives are right; their own derivatives are lost
    assert gradcheck(frozen_rule_sin, X).passed
    report = gradcheck(frozen_rule_sin, X, order=2, raise_on_fail=False)
    assert not report.passed
    failed = {c.name for c in report.failures}
    assert failed == {"fwd of fwd", "rev of fwd", "fwd of rev", "rev of rev"}


def test_second_order_passes_a_correct_function():
    report = gradcheck(smooth, X, order=2)
    names = [c.name for c in report.checks]
    assert names[:2] == ["fwd", "rev"]
    assert {"fwd of rev", "rev of rev", "fwd of fwd", "rev of fwd"} <= set(names)
    assert report.passed


def test_gradcheck_argument_errors():
    with pytest.raises(ValueError, match="gradcheck: mode 'sideways'"):
        gradcheck(smooth, X, modes="sideways")
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(smooth)


def test_compare_with_torch_agrees_and_disagrees():
    torch = pytest.importorskip("torch")
    same = compare_with_torch(smooth, lambda x: torch.tanh(x) * torch.sum(x ** 2), X)
    assert same < 1e-14
    off = compare_with_torch(smooth, lambda x: torch.tanh(x) * torch.sum(x ** 2) * 1.001, X)
    assert off == pytest.approx(1e-3 / 1.001, rel=1e-9)  # max|a - b| / max|b|
    two = compare_with_torch(lambda a, b: cr.sum(a @ b), lambda a, b: torch.sum(a @ b),
                             np.ones((2, 3)), np.ones((3, 4)))
    assert two < 1e-15
    with pytest.raises(ValueError, match=r"chainrule's output has shape \(3,\)"):
        compare_with_torch(smooth, lambda x: torch.sum(x), X)


def test_compare_with_torch_returns_none_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    assert compare_with_torch(smooth, smooth, X) is None
