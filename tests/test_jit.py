"""chainrule.jit: signatures and the cache, ownership of outputs, donation, refusals,
user primitives, transforms inside, and the printed program."""

from __future__ import annotations

import numpy as np
import pytest
from jit_planning import plan_small_arrays  # noqa: F401  (autouse fixture)

import chainrule as cr
from chainrule.jit import TracingError


def f(x, y):
    return cr.sum(cr.tanh(x) * y)


def test_jit_matches_eager_and_replays_without_retracing() -> None:
    rng = np.random.default_rng(0)
    g = cr.jit(cr.value_and_grad(f, argnums=(0, 1)))
    for _ in range(3):
        x, y = rng.standard_normal((2, 5))
        (value, (dx, dy)), (want, (wx, wy)) = g(x, y), cr.value_and_grad(f, (0, 1))(x, y)
        np.testing.assert_allclose(value, want, rtol=1e-14)
        np.testing.assert_allclose(dx, wx, rtol=1e-14)
        np.testing.assert_allclose(dy, wy, rtol=1e-14)
    assert g.traces == 1


def test_new_shapes_dtypes_static_args_and_structure_retrace() -> None:
    calls = []

    def h(x, power):
        calls.append(1)
        return x ** power

    j = cr.jit(h, static_argnums=1)
    j(np.ones(3), 2)
    j(np.ones(3), 2)
    assert j.traces == 1
    np.testing.assert_array_equal(j(np.full(4, 3.0), 2), np.full(4, 9.0))  # shape
    assert j(np.ones(3, np.float32), 2).dtype == np.float32  # dtype
    np.testing.assert_array_equal(j(np.full(3, 2.0), 3), np.full(3, 8.0))  # static value
    assert j.traces == 4 and len(calls) == 4
    k = cr.jit(lambda p: p["a"] * p["b"])
    k({"a": np.ones(2), "b": np.ones(2)})
    k([np.ones(2)] and {"a": np.ones(2), "b": np.ones(2), "c": None})
    assert k.traces == 2


def test_python_numbers_are_static_and_keep_float32() -> None:
    j = cr.jit(lambda x, lr: x - lr * x)
    out = j(np.ones(3, np.float32), 0.5)
    assert out.dtype == np.float32 and np.all(out == 0.5)
    assert j(np.ones(3, np.float32), 0.25)[0] == np.float32(0.75)
    assert j.traces == 2


def test_cache_is_bounded_lru() -> None:
    j = cr.jit(lambda x: x * 2, cache_size=2)
    for n in (1, 2, 3):
        j(np.ones(n))
    assert len(j.cache) == 2 and j.traces == 3
    j(np.ones(3))  # still cached
    assert j.traces == 3
    j(np.ones(1))  # evicted: traced again
    assert j.traces == 4
    with pytest.raises(ValueError, match="cache_size"):
        cr.jit(lambda x: x, cache_size=0)


def test_outputs_are_not_overwritten_by_later_calls() -> None:
    j = cr.jit(cr.value_and_grad(lambda x: cr.sum(cr.exp(x) * x)))
    v1, g1 = j(np.arange(3.0))
    keep = g1.copy()
    j(np.arange(3.0) + 10)
    np.testing.assert_array_equal(g1, keep)
    # an output that is an input, or a constant, is a copy
    x = np.ones(2)
    same = cr.jit(lambda x: (x, np.zeros(2)))
    a, z = same(x)
    a[0] = 5.0
    z[0] = 7.0
    assert x[0] == 1.0 and same(x)[1][0] == 0.0


def test_donated_parameters_are_updated_in_their_own_memory() -> None:
    def sgd(params, x):
        grads = cr.grad(lambda p: cr.sum(cr.tanh(x @ p["w"]) ** 2))(params)
        return cr.tree_map(lambda p, g: p - 0.1 * g, params, grads)

    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3))
    x = rng.standard_normal((5, 4))
    want = sgd({"w": w.copy()}, x)["w"]
    step = cr.jit(sgd, donate_argnums=0)
    params = {"w": w.copy()}
    before = params["w"]
    new = step(params, x)
    np.testing.assert_allclose(new["w"], want, rtol=1e-14)
    assert new["w"] is before or np.shares_memory(new["w"], before)
    assert "into donated input" in str(step.program({"w": w.copy()}, x))
    kept = cr.jit(sgd)  # without donation the input is left alone
    w2 = w.copy()
    kept({"w": w2}, x)
    np.testing.assert_array_equal(w2, w)


def test_value_dependent_python_is_refused_naming_the_line() -> None:
    def branchy(x):
        if cr.sum(x) > 0:  # the line the error names
            return x
        return -x

    with pytest.raises(TracingError, match=r"test_jit\.py:\d+ in branchy.*if cr.sum\(x\) > 0"):
        cr.jit(branchy)(np.ones(2))
    for bad in (lambda x: float(cr.sum(x)), lambda x: cr.sum(x).item(),
                lambda x: bool(x[0]), lambda x: int(cr.sum(x)),
                lambda x: np.asarray(x.data), lambda x: x[x.data > 0]):
        with pytest.raises(TracingError, match="jit:"):
            cr.jit(bad)(np.ones(2))


def test_where_replaces_the_branch() -> None:
    j = cr.jit(lambda x: cr.where(x > 0, x, -x))
    np.testing.assert_array_equal(j(np.array([-1.0, 2.0])), [1.0, 2.0])
    np.testing.assert_array_equal(j(np.array([3.0, -4.0])), [3.0, 4.0])


def test_in_place_changes_of_traced_values_are_refused() -> None:
    def setitem(x):
        x[0] = 1.0
        return x

    def iadd(x):
        x += 1.0
        return x

    for fn in (setitem, iadd, lambda x: np.add(x.data, 1, out=x.data)):
        # a jitted function's inputs are leaves that require grad: the engine refuses too
        with pytest.raises((TracingError, RuntimeError), match="in place"):
            cr.jit(fn)(np.ones(3))
    # the functional forms work
    j = cr.jit(lambda x: cr.index_update(x, 0, 5.0) + 1)
    np.testing.assert_array_equal(j(np.zeros(2)), [6.0, 1.0])


def test_closed_over_tensor_that_requires_grad_is_refused() -> None:
    w = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TracingError, match="not one of its arguments"):
        cr.jit(lambda x: cr.sum(x * w))(np.ones(3))
    # a constant (array or detached tensor) is baked in
    c = np.arange(3.0)
    j = cr.jit(lambda x: x * c + w.detach())
    np.testing.assert_array_equal(j(np.ones(3)), c + 1)
    c[:] = 100.0  # the program holds the value it was traced with
    np.testing.assert_array_equal(j(np.ones(3)), np.arange(3.0) + 1)
    with pytest.raises(TypeError, match="requires grad"):
        cr.jit(lambda x: x)(w)


def test_random_numbers_without_a_key_are_refused() -> None:
    with pytest.raises(TracingError, match="random"):
        cr.jit(lambda x: x + cr.randn(3))(np.ones(3))
    with pytest.raises(TracingError, match="global generator"):
        cr.jit(lambda x: x + np.random.rand(3))(np.ones(3))
    with pytest.raises(TypeError, match="random generator"):
        cr.jit(lambda x, g: x)(np.ones(3), np.random.default_rng(0))
    # a seed is deterministic: the same numbers in eager code and in the program
    j = cr.jit(lambda x: x + cr.randn(3, rng=7))
    np.testing.assert_array_equal(j(np.zeros(3)), cr.randn(3, rng=7).data)


def test_user_primitive_is_traced_like_a_builtin() -> None:
    @cr.primitive
    def cube(x):
        return x ** 3

    cube.defvjp(lambda g, ans, x: 3 * g * x * x)  # d x^3 = 3 x^2 dx
    cube.defjvp(lambda t, ans, x: 3 * t * x * x)
    j = cr.jit(cr.value_and_grad(lambda x: cr.sum(cube(x))))
    value, grad = j(np.array([1.0, 2.0]))
    assert value == 9.0
    np.testing.assert_allclose(grad, [3.0, 12.0])
    assert "cube" in str(j.program(np.ones(2)))


@pytest.mark.parametrize("transform", ["vjp", "jvp", "hessian", "checkpoint", "grad_of_grad"])
def test_transforms_inside(transform: str) -> None:
    x = np.array([0.3, -1.2, 2.0])
    t = np.array([1.0, 0.5, -2.0])

    def loss(x):
        return cr.sum(cr.sin(x) * x)

    fns = {
        "vjp": lambda x: cr.vjp(cr.sin, x)[1](t),
        "jvp": lambda x: cr.jvp(loss, (x,), (t,)),
        "hessian": cr.hessian(loss),
        "checkpoint": cr.grad(lambda x: cr.sum(cr.checkpoint(lambda u: cr.sin(u) * u, x))),
        "grad_of_grad": cr.grad(lambda x: cr.sum(cr.grad(loss)(x) ** 2)),
    }
    fn = fns[transform]
    got, want = cr.jit(fn)(x), fn(x)
    for g, w in zip(cr.tree_leaves(got), cr.tree_leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-13)


def test_program_prints_forward_backward_outputs_and_plan() -> None:
    prog = cr.make_program(cr.value_and_grad(f))(np.ones(3), np.ones(3))
    text = str(prog)
    for part in ("inputs", "forward", "backward", "outputs", "buffers", "tanh", "peak"):
        assert part in text
    assert prog.count("forward") >= 3 and prog.count("backward") >= 2
    assert prog.count("forward") + prog.count("backward") == len(prog.lines)


def test_jit_inside_jit_traces_through() -> None:
    inner = cr.jit(lambda x: cr.exp(x))
    outer = cr.jit(lambda x: inner(x) * 2)
    np.testing.assert_allclose(outer(np.zeros(2)), [2.0, 2.0])
    assert inner.traces == 0


def test_a_donated_array_shared_with_another_argument_is_refused() -> None:
    """Donated memory is written over during the call: an argument sharing it would be
    read after the write (a wrong number), two donated ones would share one result."""
    step = cr.jit(lambda p, x: (p * 2.0, (x * 1.0).sum()), donate_argnums=0)
    a, b = np.ones(3), np.full(3, 2.0)
    assert step(a.copy(), b)[1] == 6.0
    for p, x in ((a, a), (a, a[::-1])):  # the same array, or a view of it
        with pytest.raises(ValueError, match="donated array 0 .* shares its memory with array 1"):
            step(p, x)
    np.testing.assert_array_equal(a, 1.0)  # refused before anything was written
    both = cr.jit(lambda m, v: (m * 0.9 + 1.0, v * 0.99 + 1.0), donate_argnums=(0, 1))
    z = np.zeros(3)
    with pytest.raises(ValueError, match="shares its memory"):
        both(z, z)


def test_float_constants_are_told_apart_by_sign_and_nan_retraces_nothing() -> None:
    x = np.ones(2)
    f = cr.jit(lambda x, s: 1.0 / (x * s))
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(f(x, 0.0), [np.inf, np.inf])
        np.testing.assert_array_equal(f(x, -0.0), [-np.inf, -np.inf])  # not 0.0's program
        g = cr.jit(lambda x: (1.0 / (x * 0.0), 1.0 / (x * -0.0)))  # two lines, not merged
        np.testing.assert_array_equal(g(x)[1], [-np.inf, -np.inf])
    h = cr.jit(lambda x, s: x * s)
    for _ in range(3):
        h(x, float("nan"))
    assert h.traces == 1


def test_a_closed_over_generator_and_read_only_view_are_not_frozen_silently() -> None:
    gen = np.random.default_rng(0)
    with pytest.raises(TracingError, match="random numbers from a generator"):
        cr.jit(lambda x: x + cr.randn(3, rng=gen))(np.zeros(3))
    base = np.ones(3)
    view = np.broadcast_to(base, (3,))  # read-only, but its base is writeable
    k = cr.jit(lambda x: x + view)
    np.testing.assert_array_equal(k(np.zeros(3)), 1.0)
    base[:] = 5.0
    np.testing.assert_array_equal(k(np.zeros(3)), 1.0)  # the traced value, as documented


@pytest.mark.parametrize("fn", [lambda x: cr.sort(x, axis=0), lambda x: cr.relu(x) * 2.0])
def test_jit_hessian_of_a_piecewise_linear_function_is_zero(fn) -> None:
    """Its second backward reaches the input with no graph (a constant zero), which must
    stay a traced value, not be read as a NumPy array while tracing."""
    v = np.array([0.7, -1.3])
    x = np.array([-0.15, 0.4])

    def loss(x):
        return cr.sum(v * fn(x))

    hess = cr.jit(cr.hessian(loss))
    for _ in range(2):
        np.testing.assert_array_equal(hess(x), cr.hessian(loss)(x))
        np.testing.assert_array_equal(hess(x), np.zeros((2, 2)))
        x = x[::-1].copy()
