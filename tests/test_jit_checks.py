"""Value-dependent errors under chainrule.jit: traced checks raise eager's error at replay.

A program traced on ordinary values and replayed on values that eager code refuses (a
degenerate spectrum, weights summing to zero, a rank that changes the result's shape)
raises the same error as eager code; a value branch rewritten as ``where`` (linspace's
zero step) gives NumPy's numbers at replay.
"""

from __future__ import annotations

import numpy as np
import pytest
from jit_planning import plan_small_arrays  # noqa: F401  (autouse fixture)

import chainrule as cr
from chainrule import linalg as la
from chainrule.jit import TracingError, check, known

RNG = np.random.default_rng(0)


def eager_error(fn, *args) -> BaseException:
    with pytest.raises(Exception) as info:
        fn(*args)
    return info.value


def assert_same_error(jitted, eager, *args) -> None:
    """``jitted(*args)`` raises what ``eager(*args)`` raises: same type, same message."""
    want = eager_error(eager, *args)
    got = eager_error(jitted, *args)
    assert type(got) is type(want) and str(got) == str(want), (got, want)


def symmetric(n: int) -> np.ndarray:
    x = RNG.standard_normal((n, n))
    return x + x.T


def vectors_loss(x, v):
    return cr.sum(v * la.eigh(x).eigenvectors)


def singular_vectors_loss(x, v):
    u, _, vh = la.svd(x, full_matrices=False)
    return cr.sum(v * u) + cr.sum(vh)


@pytest.mark.parametrize("loss", [vectors_loss, singular_vectors_loss])
def test_degenerate_spectrum_at_replay_raises_eagers_error(loss) -> None:
    x, v = symmetric(3), RNG.standard_normal((3, 3))
    step, eager = cr.jit(cr.grad(loss)), cr.grad(loss)
    np.testing.assert_allclose(step(x, v), eager(x, v), rtol=1e-12)  # traced, generic
    assert_same_error(step, eager, np.eye(3), v)  # replayed on the identity: tied values
    assert "vectors are not unique" in str(eager_error(step, np.eye(3), v))
    y = symmetric(3)  # the program (and its buffers) still serve a good call after
    np.testing.assert_allclose(step(y, v), eager(y, v), rtol=1e-12)
    assert step.traces == 1


def test_degenerate_spectrum_without_moving_the_vectors_is_not_refused() -> None:
    def loss(x):  # sum(V**2) does not depend on the basis chosen: defined at a tie
        w, vecs = la.eigh(x)
        return cr.sum(w) + cr.sum(vecs ** 2)

    step = cr.jit(cr.grad(loss))
    step(symmetric(3))
    np.testing.assert_allclose(step(np.eye(3)), cr.grad(loss)(np.eye(3)), rtol=1e-12)


def test_average_with_weights_summing_to_zero_at_replay() -> None:
    x, w = RNG.standard_normal((3, 2)), RNG.random((3, 2)) + 0.5
    zero = np.array([[1.0, 1.0], [-1.0, 2.0], [0.0, -3.0]])  # column sums 0 and 0
    for fn in (lambda x, w: cr.average(x, 0, w),
               cr.grad(lambda x, w: cr.sum(cr.average(x, 0, w)), argnums=(0, 1))):
        jitted = cr.jit(fn)
        np.testing.assert_allclose(np.asarray(jitted(x, w)), np.asarray(fn(x, w)), rtol=1e-12)
        assert_same_error(jitted, fn, x, zero)
        with pytest.raises(ZeroDivisionError, match="the weights sum to zero"):
            jitted(x, zero)


def test_linspace_with_a_zero_step_at_replay_gives_numpys_values() -> None:
    # stop 1e-323: (stop - start) / 6 underflows to 0, so NumPy computes every column as
    # (i / 6) * delta, which in the column ending at 0.3 differs from i * (delta / 6)
    start, tiny = np.zeros(2), np.array([1e-323, 0.3])
    linspace = cr.jit(lambda a, b: cr.linspace(a, b, 7))
    normal = np.array([1.0, 0.3])
    np.testing.assert_array_equal(linspace(start, normal), np.linspace(start, normal, 7))
    assert not np.array_equal(np.linspace(start, tiny, 7)[:, 1],
                              np.linspace(0.0, 0.3, 7))  # the two formulas differ here
    np.testing.assert_array_equal(linspace(start, tiny),
                                  np.linspace(start, tiny, 7))
    np.testing.assert_array_equal(cr.linspace(cr.tensor(start), tiny, 7),
                                  np.linspace(start, tiny, 7))  # eager too
    grad = cr.jit(cr.grad(lambda a, b: cr.sum(cr.linspace(a, b, 7) ** 2), argnums=(0, 1)))
    for b in (normal, tiny):
        got = grad(start, b)
        want = cr.grad(lambda a, b: cr.sum(cr.linspace(a, b, 7) ** 2), argnums=(0, 1))(start, b)
        for g, w in zip(got, want, strict=True):
            assert np.all(np.isfinite(g))  # the unused formula leaks no NaN
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=0)
    assert grad.traces == 1


def test_lstsq_traces_and_a_rank_change_at_replay_is_refused() -> None:
    a, b = RNG.standard_normal((4, 2)), RNG.standard_normal((4, 3))
    jitted = cr.jit(la.lstsq)
    for got, want in zip(jitted(a, b), la.lstsq(a, b), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    deficient = a.copy()
    deficient[:, 1] = 2 * deficient[:, 0]  # rank 1: NumPy gives no residuals
    with pytest.raises(ValueError, match="full rank on one call and not on another"):
        jitted(deficient, b)
    wide = cr.jit(la.lstsq)  # a wide A never has residuals: no check, any rank replays
    a2 = RNG.standard_normal((2, 4))
    wide(a2, b[:2])
    rank_one = np.outer([1.0, 2.0], [1.0, 0.0, 3.0, 1.0])
    got, want = wide(rank_one, b[:2]), la.lstsq(rank_one, b[:2])
    assert int(got[2]) == want[2] == 1
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)


def test_make_program_shows_the_check_line() -> None:
    x, v = symmetric(3), RNG.standard_normal((3, 3))
    text = str(cr.make_program(cr.grad(vectors_loss))(x, v))
    backward = text[text.index("  backward"):]
    assert "    check eigh-degenerate v" in backward
    text = str(cr.make_program(lambda x, w: cr.average(x, 0, w))(x, v))
    assert "    check average-zero-weights v" in text


def test_a_check_line_survives_prune_though_no_output_reads_it() -> None:
    def f(x):
        check("negative", x < 0, lambda: ValueError("f: x must be non-negative"))
        return x * 2.0

    jitted = cr.jit(f)
    x = np.arange(8.0)
    np.testing.assert_array_equal(jitted(x), 2 * x)
    program = jitted.program(x)
    shown = [line.name for line in program.lines]
    assert shown == ["np.less", "check negative", "mul"], shown
    with pytest.raises(ValueError, match="f: x must be non-negative"):
        jitted(x - 3)
    with pytest.raises(ValueError, match="f: x must be non-negative"):
        f(x - 3)  # eagerly the same
    with pytest.raises(ValueError, match="f: x must be non-negative"):
        cr.jit(f)(x - 3)  # and while tracing on a failing example


def test_check_and_known_eagerly() -> None:
    check("never", np.zeros(3, bool), lambda: AssertionError("unreachable"))
    with pytest.raises(KeyError, match="some"):
        check("some", np.array([False, True]), lambda: KeyError("some"))
    assert known("k", np.bool_(True), lambda: AssertionError("unreachable")) is True
    assert known("k", cr.tensor(0.0) > 1, lambda: AssertionError("unreachable")) is False

    def f(x):  # while tracing: the example's answer, and a check at every replay
        return x + 1.0 if known("positive", cr.sum(x) > 0, lambda: ValueError("sign")) else x

    jitted = cr.jit(f)
    np.testing.assert_array_equal(jitted(np.ones(2)), [2.0, 2.0])
    np.testing.assert_array_equal(jitted(np.full(2, 3.0)), [4.0, 4.0])
    with pytest.raises(ValueError, match="sign"):
        jitted(-np.ones(2))


def test_a_refusal_names_the_users_line_in_code_without_a_file() -> None:
    # python -c and notebook cells have no file: their lines are still the user's, not
    # chainrule's own wrappers (batching.py's per-example decorator)
    scope: dict = {"cr": cr, "la": la}
    exec(compile("def f(x):\n    return la.matrix_rank(x)\n", "<string>", "exec"), scope)
    with pytest.raises(TracingError, match=r"at <string>:2 in f") as info:
        cr.jit(scope["f"])(np.eye(2))
    assert "batching.py" not in str(info.value)
