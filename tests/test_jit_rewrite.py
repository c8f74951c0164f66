"""chainrule.jit's algebraic rewrites (chainrule.jit.rewrite): a scalar times a matrix
product scales the smaller operand instead; the numbers stay the eager ones."""

from __future__ import annotations

import numpy as np
import pytest
from jit_planning import plan_small_arrays  # noqa: F401  (autouse fixture)

import chainrule as cr


def sgd_like(a, d):
    return 0.01 * (a.T @ d)  # an SGD step's lr * (x.T @ delta)


def lines(fn, *args) -> list[str]:
    return str(cr.make_program(fn)(*args)).splitlines()


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_scale_moves_to_the_smaller_operand_with_the_eager_numbers(dtype, rtol) -> None:
    rng = np.random.default_rng(0)
    a, d = rng.standard_normal((16, 100)).astype(dtype), rng.standard_normal((16, 8)).astype(dtype)
    shown = lines(sgd_like, a, d)
    short = "f64" if dtype == np.float64 else "f32"
    assert any(f":{short}[16,8] = mul 0.01 v1" in row for row in shown), shown
    assert not any("[100,8] = mul" in row for row in shown), shown  # the product unscaled
    got, want = cr.jit(sgd_like)(a, d), sgd_like(a, d)
    assert got.dtype == want.dtype == dtype
    # (rounding of a sum is relative to its terms: entries near 0 are held to the scale)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())


def test_gradient_step_of_a_linear_layer() -> None:
    """The rewrite inside value_and_grad + an update: parameters equal eager's."""
    rng = np.random.default_rng(1)
    w, x = rng.standard_normal((50, 4)), rng.standard_normal((8, 50))

    def step(w, x):
        loss, g = cr.value_and_grad(lambda w: cr.sum(cr.tanh(x @ w)))(w)
        return w - 0.1 * g, loss

    shown = lines(step, w, x)
    assert any("[8,4] = mul 0.1" in row for row in shown), shown
    jitted = cr.jit(step)
    for _ in range(2):  # a replay on other numbers: the scaled operand is computed anew
        for got, want in zip(jitted(w, x), step(w, x)):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
        w, x = rng.standard_normal((50, 4)), rng.standard_normal((8, 50))
    assert jitted.traces == 1


def test_not_rewritten_when_the_product_is_read_again_or_the_dtype_would_change() -> None:
    rng = np.random.default_rng(2)
    a, d = rng.standard_normal((16, 100)), rng.standard_normal((16, 8))

    def twice(a, d):
        p = a.T @ d
        return 0.5 * p, p

    assert any("[100,8] = mul 0.5" in row for row in lines(twice, a, d))
    for got, want in zip(cr.jit(twice)(a, d), twice(a, d)):
        np.testing.assert_array_equal(got, want)

    a32, d32 = a.astype(np.float32), d.astype(np.float32)

    def promoted(a, d):
        return np.float64(0.5) * (a.T @ d)  # float32 product, then float64

    assert any("f64[100,8] = mul" in row for row in lines(promoted, a32, d32))
    got, want = cr.jit(promoted)(a32, d32), promoted(a32, d32)
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_array_equal(got, want)
