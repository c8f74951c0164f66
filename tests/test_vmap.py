"""``chainrule.vmap``: JAX's contract (in_axes/out_axes, containers, errors), nesting and
composition with the other transforms (against Python loops and ``torch.func``), per-example
gradients, the loop fallback's one-time warning, and the refusals of value-dependent code."""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np
import pytest

import chainrule as cr
from chainrule import grad, hessian, jacfwd, jacrev, jvp, vjp, vmap

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3))
Y = RNG.standard_normal((4, 3))


def f(x):
    return cr.sum(cr.sin(x) * x ** 2)


def loop(fn, *xs):
    return np.stack([np.asarray(fn(*args)) for args in zip(*xs)])


# ----- the contract ----------------------------------------------------------------------
def test_maps_over_axis_0_and_returns_numpy():
    out = vmap(lambda x: cr.exp(x) * 2)(X)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, np.exp(X) * 2)


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_in_axes_any_axis_and_negative(axis):
    out = vmap(lambda x: cr.sum(x * x), in_axes=axis)(X)
    np.testing.assert_allclose(out, np.sum(X * X, axis=1 - axis % 2))


def test_in_axes_none_broadcasts_an_argument():
    w = RNG.standard_normal(3)
    out = vmap(lambda x, w: x @ w, in_axes=(0, None))(X, w)
    np.testing.assert_allclose(out, X @ w)


@pytest.mark.parametrize("out_axes", [0, 1, -1, -2])
def test_out_axes(out_axes):
    out = vmap(lambda x: x[:, None] * x[None, :], out_axes=out_axes)(X)
    want = np.stack([np.outer(x, x) for x in X], axis=out_axes)
    np.testing.assert_allclose(out, want)


def test_out_axes_none_for_an_unbatched_output_and_refused_for_a_batched_one():
    out, s = vmap(lambda x: (x * 2, cr.tensor(3.0)), out_axes=(0, None))(X)
    np.testing.assert_allclose(out, X * 2)
    assert s == 3.0
    with pytest.raises(ValueError, match="out_axes None for output.*differs between"):
        vmap(lambda x: x * 2, out_axes=None)(X)


def test_unbatched_output_is_broadcast():
    out = vmap(lambda x: cr.tensor(1.0) + 0 * cr.sum(RNG.standard_normal(2)))(X)
    np.testing.assert_allclose(out, np.ones(4))


def test_containers_per_argument_and_per_leaf_axes():
    Pair = namedtuple("Pair", "a b")
    params = {"w": RNG.standard_normal((3, 2)), "b": RNG.standard_normal((4, 2))}

    def g(p, pair):
        return {"y": pair.a @ p["w"] + p["b"], "z": cr.sum(pair.b)}

    out = vmap(g, in_axes=({"w": None, "b": 0}, Pair(0, 1)))(params, Pair(X, Y.T))
    np.testing.assert_allclose(out["y"], X @ params["w"] + params["b"])
    np.testing.assert_allclose(out["z"], Y.sum(1))
    assert set(out) == {"y", "z"}


def test_out_axes_container_prefix():
    out = vmap(lambda x: {"a": x, "b": (x, x)}, out_axes={"a": 1, "b": 0})(X)
    np.testing.assert_allclose(out["a"], X.T)
    np.testing.assert_allclose(out["b"][1], X)


def test_keyword_arguments_are_mapped_over_axis_0():
    out = vmap(lambda x, scale: x * scale)(X, scale=np.arange(4.0))
    np.testing.assert_allclose(out, X * np.arange(4.0)[:, None])


def test_mismatched_batch_sizes_name_the_arguments():
    with pytest.raises(ValueError, match=r"different sizes: a has 4 \(axis 0\), b has 3"):
        vmap(lambda a, b: a + b)(X, Y.T)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: vmap(lambda a: a, in_axes=2)(X), "in_axes 2 for a of shape"),
    (lambda: vmap(lambda a: a, in_axes=None)(X), "maps no argument"),
    (lambda: vmap(lambda a, b: a, in_axes=(0,))(X, Y), "1 entries, but the function was"),
    (lambda: vmap(lambda a: a, in_axes=[0])(X), "not a list"),
    (lambda: vmap(lambda a: a, in_axes=0.5)(X), "must be an int"),
    (lambda: vmap(lambda a: a, in_axes=({"w": 0},))(X), "does not fit the arguments"),
    (lambda: vmap(lambda a: a, out_axes=3)(X), "out_axes 3 for output"),
    (lambda: vmap(lambda a: "text")(X), "a mapped function returns arrays"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_logical_shapes_len_iteration_and_comparisons_inside():
    def g(x):
        assert x.shape == (3,) and x.ndim == 1 and len(x) == 3 and np.shape(x) == (3,)
        parts = [2 * xi for xi in x]  # iteration gives batched elements
        mask = (x > 0) & ~(x > 1)
        return cr.where(mask, cr.stack(parts), -1.0)

    out = vmap(g)(X)
    np.testing.assert_allclose(out, np.where((X > 0) & ~(X > 1), 2 * X, -1.0))


@pytest.mark.parametrize("read", [bool, float, lambda t: t.item(), np.asarray,
                                  lambda t: t.data + 1, lambda t: t.tolist()])
def test_value_dependent_python_is_refused_clearly(read):
    with pytest.raises(TypeError, match="vmap: .* can't be batched.*where"):
        vmap(lambda x: read(cr.sum(x)))(X)


def test_if_on_a_batched_comparison_is_refused():
    def g(x):
        if cr.sum(x) > 0:
            return x
        return -x

    with pytest.raises(TypeError, match="vmap:.*chainrule.where"):
        vmap(g)(X)


def test_detach_stays_batched():
    out = vmap(lambda x: x.detach() * 2)(X)
    np.testing.assert_allclose(out, 2 * X)
    g = grad(lambda x: cr.sum(vmap(lambda r: r * r.detach())(x)))(X)
    np.testing.assert_allclose(g, X)  # d (x * stop(x)) = stop(x)


def test_random_numbers_inside_are_one_draw_for_every_example():
    cr.manual_seed(0)
    out = vmap(lambda x: x * 0 + cr.randn(3).data)(X)
    np.testing.assert_allclose(out, np.broadcast_to(out[0], out.shape))


# ----- nesting and composition --------------------------------------------------------------
def test_vmap_of_vmap():
    cube = RNG.standard_normal((2, 4, 3))
    out = vmap(vmap(lambda x: cr.sum(cr.tanh(x))), in_axes=1)(cube)
    np.testing.assert_allclose(out, np.tanh(cube).sum(-1).T)
    outer = vmap(lambda x: vmap(lambda y: x * y)(Y))(X)  # outer product of the batches
    np.testing.assert_allclose(outer, X[:, None, :] * Y[None, :, :])


def test_vmap_of_grad_and_grad_of_vmap():
    want = loop(grad(f), X)
    np.testing.assert_allclose(vmap(grad(f))(X), want)
    np.testing.assert_allclose(grad(lambda x: cr.sum(vmap(f)(x)))(X), want)


def test_vmap_of_jvp_and_jvp_of_vmap():
    t = RNG.standard_normal(X.shape)
    want = np.array([jvp(f, (x,), (v,))[1] for x, v in zip(X, t)])
    np.testing.assert_allclose(vmap(lambda x, v: jvp(f, (x,), (v,))[1])(X, t), want)
    np.testing.assert_allclose(jvp(vmap(f), (X,), (t,))[1], want)


def test_vmap_of_vjp_and_vjp_of_vmap():
    g = lambda x: cr.sin(x) * cr.sum(x)  # noqa: E731
    ct = RNG.standard_normal(X.shape)
    want = np.stack([vjp(g, x)[1](c)[0] for x, c in zip(X, ct)])
    np.testing.assert_allclose(vmap(lambda x, c: vjp(g, x)[1](c)[0])(X, ct), want)
    np.testing.assert_allclose(vjp(vmap(g), X)[1](ct)[0], want)


@pytest.mark.parametrize("transform", [jacfwd, jacrev, hessian])
def test_vmap_of_jacobians_and_hessian(transform):
    want = np.stack([transform(f)(x) for x in X])
    np.testing.assert_allclose(vmap(transform(f))(X), want, rtol=1e-12, atol=1e-14)


def test_jacobian_of_vmap_is_block_diagonal():
    j = jacrev(vmap(f))(X)
    for i in range(4):
        np.testing.assert_allclose(j[i, i], grad(f)(X[i]))
        np.testing.assert_allclose(j[i, (i + 1) % 4], 0.0)


def test_grad_of_vmap_of_grad_and_hessian_of_vmap():
    second = grad(lambda x: cr.sum(vmap(grad(f))(x)))(X)
    want = np.stack([hessian(f)(x).sum(0) for x in X])
    np.testing.assert_allclose(second, want, rtol=1e-12)


def test_checkpoint_inside_and_outside_vmap():
    inner = vmap(lambda x: cr.checkpoint(f, x))(X)
    np.testing.assert_allclose(inner, loop(f, X))
    g = vmap(grad(lambda x: cr.checkpoint(f, x)))(X)
    np.testing.assert_allclose(g, loop(grad(f), X))


def test_vmap_inside_no_grad_keeps_recording_off():
    w = cr.tensor(np.ones(3), requires_grad=True)
    with cr.no_grad():
        out = vmap(lambda x: x * w)(cr.tensor(X))
    assert not out.requires_grad


def test_matches_torch_func():
    torch = pytest.importorskip("torch")

    def ft(x):
        return torch.sum(torch.sin(x) * x ** 2)

    tx = torch.from_numpy(X)
    pairs = [
        (vmap(grad(f))(X), torch.func.vmap(torch.func.grad(ft))(tx)),
        (vmap(hessian(f))(X), torch.func.vmap(torch.func.hessian(ft))(tx)),
        (vmap(jacrev(vmap(f)), in_axes=1)(X[None].repeat(2, 0)),
         torch.func.vmap(torch.func.jacrev(torch.func.vmap(ft)), in_dims=1)(
             tx[None].repeat(2, 1, 1))),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-14)


# ----- per-example gradients -------------------------------------------------------------
def mlp_loss(params, x, y):
    h = cr.tanh(x @ params["W0"] + params["b0"])
    z = h @ params["W1"] + params["b1"]
    return cr.logsumexp(z) - z[y]


PARAMS = {"W0": RNG.standard_normal((3, 5)), "b0": RNG.standard_normal(5),
          "W1": RNG.standard_normal((5, 2)), "b1": RNG.standard_normal(2)}
LABELS = np.array([0, 1, 1, 0])


def test_per_example_gradients_equal_a_loop_and_float32_stays():
    got = vmap(grad(mlp_loss), in_axes=(None, 0, 0))(PARAMS, X, LABELS)
    for k in PARAMS:
        want = np.stack([grad(mlp_loss)(PARAMS, X[i], LABELS[i])[k] for i in range(4)])
        np.testing.assert_allclose(got[k], want, rtol=1e-13, atol=1e-15)
    p32 = {k: v.astype(np.float32) for k, v in PARAMS.items()}
    g32 = vmap(grad(mlp_loss), in_axes=(None, 0, 0))(p32, X.astype(np.float32), LABELS)
    assert all(g.dtype == np.float32 for g in g32.values())


def test_jit_of_vmap_of_grad_equals_the_loop_on_every_call():
    """The issue's composition: jit(vmap(grad(loss), in_axes=(None, 0, 0))), traced once and
    replayed on new numbers, equals a loop of grad calls."""
    step = cr.jit(vmap(grad(mlp_loss), in_axes=(None, 0, 0)))
    for shift in (0.0, 0.5):
        params = {k: v + shift for k, v in PARAMS.items()}
        got = step(params, X - shift, LABELS)
        for k in PARAMS:
            want = np.stack([grad(mlp_loss)(params, X[i] - shift, LABELS[i])[k]
                             for i in range(4)])
            np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-14)
    assert step.traces == 1


def test_vmap_of_jit_and_jit_of_hessian_inside_vmap():
    f = lambda x: cr.sum(cr.sin(x) * x)
    xs = RNG.standard_normal((4, 3))
    want = np.stack([hessian(f)(x) for x in xs])
    np.testing.assert_allclose(vmap(cr.jit(hessian(f)))(xs), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cr.jit(vmap(hessian(f)))(xs), want, rtol=1e-12, atol=1e-14)


def test_per_example_gradient_norms():
    norms = cr.diagnose.per_example_gradient_norms(mlp_loss, PARAMS, X, LABELS)
    want = [np.sqrt(sum(np.sum(g ** 2) for g in grad(mlp_loss)(PARAMS, X[i], LABELS[i]).values()))
            for i in range(4)]
    np.testing.assert_allclose(norms, want, rtol=1e-13)
    per_leaf = cr.diagnose.per_example_gradient_norms(mlp_loss, PARAMS, X, LABELS, per_leaf=True)
    np.testing.assert_allclose(np.sqrt(sum(v ** 2 for v in per_leaf.values())), want)


def test_batched_label_out_of_range_is_named():
    with pytest.raises(IndexError, match="index 7 is out of bounds"):
        vmap(grad(mlp_loss), in_axes=(None, 0, 0))(PARAMS, X, np.array([0, 7, 1, 0]))


def test_batched_boolean_mask_index_is_refused():
    with pytest.raises(ValueError, match="batched boolean mask.*where"):
        vmap(lambda x: x[x > 0])(X)


# ----- the loop fallback -------------------------------------------------------------------
def test_a_primitive_without_rule_loops_with_a_one_time_warning():
    @cr.primitive
    def cube_no_rule(x):
        return x ** 3

    cube_no_rule.defvjp(lambda g, ans, x: 3 * g * x ** 2)
    with pytest.warns(UserWarning, match="'cube_no_rule' has no batching rule"):
        out = vmap(cube_no_rule)(X)
    np.testing.assert_allclose(out, X ** 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vmap(cube_no_rule)(X)  # warned once already
        g = vmap(grad(lambda x: cr.sum(cube_no_rule(x))))(X)
    np.testing.assert_allclose(g, 3 * X ** 2)


def test_value_reading_composite_loops_and_refuses_a_derivative_inside():
    with pytest.warns(UserWarning, match="sort reads the values"):
        np.testing.assert_allclose(vmap(cr.sort)(X), np.sort(X, axis=-1))
    np.testing.assert_allclose(grad(lambda x: cr.sum(vmap(cr.sort)(x) * np.arange(3.0)))(X),
                               np.argsort(np.argsort(X, -1), -1).astype(float))
    with pytest.raises(NotImplementedError, match="vmap: sort .* derivative taken inside"):
        vmap(grad(lambda x: cr.sum(cr.sort(x) * np.arange(3.0))))(X)


# ----- the Jacobians' chunk_size -------------------------------------------------------------
@pytest.mark.parametrize("transform", [jacfwd, jacrev, hessian])
def test_chunk_size_gives_the_same_result(transform):
    x = RNG.standard_normal(7)
    g = (lambda x: cr.sum(cr.sin(x) ** 2)) if transform is hessian else \
        (lambda x: cr.sin(x)[:, None] * x[None, :3])
    full = transform(g)(x)
    for chunk in (1, 3, 7, 100):
        np.testing.assert_array_equal(transform(g, chunk_size=chunk)(x), full)
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        transform(g, chunk_size=0)(x)


@pytest.mark.parametrize("how", ["+=", "*=", "setitem", "into a constant"])
def test_in_place_changes_of_batched_values_are_refused_clearly(how: str) -> None:
    def f(x):
        y = x * 1.0
        if how == "+=":
            y += 1.0
        elif how == "*=":
            y *= 2.0
        elif how == "setitem":
            y[0] = 5.0
        else:
            y = cr.tensor(np.zeros(3))
            y += x
        return y

    instead = "index_update" if how == "setitem" else "out of place"
    with pytest.raises(TypeError, match=f"in-place changes of values that vmap batches.*{instead}"):
        cr.vmap(f)(np.arange(6.0).reshape(2, 3))
