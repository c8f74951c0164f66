"""chainrule.jit on the whole primitive table: the replayed program gives the eager numbers.

For every row of ``cases.CASES``: ``jit(value_and_grad(L))`` with ``L(xs, v) = sum(v *
fn(*xs))`` against the eager ``value_and_grad(L)``, in float64 (to 1e-12 relative) and
float32 (to 1e-5); the program is called again on moved inputs and another cotangent, so a
value frozen while tracing would show. Second order through ``jit(hessian(...))`` on the
rows that support it.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from cases import CASES, Case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jit_planning import plan_small_arrays  # noqa: F401  (autouse fixture)

import chainrule as cr

EXAMPLES = int(os.environ.get("CHAINRULE_EXAMPLES", "10"))
SETTINGS = settings(max_examples=max(EXAMPLES // 3, 1), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ALL = pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)


def contracted(case: Case):
    def loss(xs, v):
        return cr.sum(v * case.fn(*xs))

    return loss


def assert_same(got, want, rtol: float, what: str, dtype=None) -> None:
    """jit's result equals eager's; a 0-d eager result comes as a Python float, so then
    its dtype is the inputs' ``dtype``."""
    dtype = np.asarray(want).dtype if isinstance(want, np.ndarray) else dtype
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, eager {want.shape}"
    assert dtype is None or got.dtype == dtype, f"{what}: dtype {got.dtype}, eager {dtype}"
    scale = float(np.max(np.abs(want), initial=0.0))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=what)


def check(case: Case, arrays, dtype, rtol: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    xs = tuple(np.asarray(a, dtype=dtype) for a in arrays)
    loss = contracted(case)
    shape = case.fn(*[cr.tensor(x) for x in xs]).shape
    step = cr.jit(cr.value_and_grad(loss))
    moved = tuple((x * dtype(1.001)).astype(dtype) for x in xs)
    for k, inputs in enumerate((xs, xs, moved)):
        v = rng.standard_normal(shape).astype(dtype)
        (value, grads), (want_value, want_grads) = step(inputs, v), \
            cr.value_and_grad(loss)(inputs, v)
        assert_same(value, want_value, rtol, f"{case.name} call {k}: value", dtype)
        for i, (g, w) in enumerate(zip(grads, want_grads, strict=True)):
            assert_same(g, w, rtol, f"{case.name} call {k}: d/d input {i}", dtype)
    assert step.traces == 1


@ALL
@SETTINGS
@given(data=st.data())
def test_jit_value_and_grad_equals_eager(case: Case, data: st.DataObject) -> None:
    arrays = data.draw(case.inputs, label="inputs")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    check(case, arrays, np.float64, 1e-12, seed)
    check(case, arrays, np.float32, 1e-5, seed)


SECOND = [c for c in CASES if c.second_order][::7]


@pytest.mark.parametrize("case", SECOND, ids=lambda c: c.name)
@settings(SETTINGS, max_examples=max(EXAMPLES // 5, 1))
@given(data=st.data())
def test_jit_hessian_equals_eager(case: Case, data: st.DataObject) -> None:
    arrays = [np.asarray(a, np.float64) for a in data.draw(case.inputs, label="inputs")]
    v = np.random.default_rng(0).standard_normal(case.fn(*map(cr.tensor, arrays)).shape)

    def loss(x0, rest):
        return cr.sum(v * case.fn(x0, *rest))

    hess = cr.jit(cr.hessian(loss))
    got, want = hess(arrays[0], tuple(arrays[1:])), cr.hessian(loss)(arrays[0], tuple(arrays[1:]))
    assert_same(got, want, 1e-12, f"{case.name}: Hessian")
