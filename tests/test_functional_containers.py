"""Every transform with containers of parameters (dicts, lists of (W, b) tuples, namedtuples,
dataclasses, None), against ``torch.func`` (CPU, float64) or central finite differences;
the refusals (int and string leaves, mismatched structures); ``nn.Module`` parameters; and
the dtype of what the user receives."""

from __future__ import annotations

import dataclasses
from collections import namedtuple

import numpy as np
import pytest

import chainrule as cr
from chainrule.check import GradcheckError, gradcheck

RNG = np.random.default_rng(3)
Pair = namedtuple("Pair", "w b")


@dataclasses.dataclass
class Layer:
    weight: object
    bias: object


def params():
    return {"W": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2),
            "s": float(RNG.standard_normal())}


X = RNG.standard_normal((4, 3))


def loss(p):
    return cr.sum(cr.tanh(X @ p["W"] + p["b"]) ** 2) * p["s"]


def torch_loss(p):
    import torch

    return torch.sum(torch.tanh(torch.from_numpy(X) @ p["W"] + p["b"]) ** 2) * p["s"]


def to_torch(tree):
    import torch

    return cr.tree_map(lambda x: torch.tensor(np.asarray(x, dtype=np.float64)), tree)


def assert_trees_close(ours, theirs, rtol=1e-12, atol=1e-14):
    """Same structure, same numbers (theirs may hold torch tensors)."""
    assert cr.tree_structure(ours) == cr.tree_structure(theirs)
    for a, b in zip(cr.tree_leaves(ours), cr.tree_leaves(theirs)):
        b = b.detach().numpy() if hasattr(b, "detach") else b
        np.testing.assert_allclose(np.asarray(a), b, rtol=rtol, atol=atol)


def finite_difference_grad(f, tree, eps=1e-6):
    leaves, td = cr.tree_flatten(tree)
    grads = []
    for j, x in enumerate(leaves):
        x = np.asarray(x, dtype=np.float64)
        g = np.zeros(x.shape)
        for i in range(x.size):
            for sign in (1, -1):
                moved = x.copy()
                moved.flat[i] += sign * eps
                g.flat[i] += sign * float(f(cr.tree_unflatten(
                    td, [*leaves[:j], moved, *leaves[j + 1:]]))) / (2 * eps)
        grads.append(g if x.ndim else float(g))
    return cr.tree_unflatten(td, grads)


# ----- grad and value_and_grad ---------------------------------------------------------------
def test_grad_of_a_dict_matches_torch_func():
    torch = pytest.importorskip("torch")
    p = params()
    g = cr.grad(loss)(p)
    assert list(g) == ["W", "b", "s"] and type(g["s"]) is float
    assert isinstance(g["W"], np.ndarray) and g["W"].shape == (3, 2)
    assert_trees_close(g, torch.func.grad(torch_loss)(to_torch(p)))


def mlp(layers, x, lib=cr):
    for w, b in layers[:-1]:
        x = lib.tanh(x @ w + b)
    w, b = layers[-1]
    return lib.sum((x @ w + b) ** 2)


def test_grad_of_a_list_of_weight_bias_tuples_matches_torch_func():
    torch = pytest.importorskip("torch")
    layers = [(RNG.standard_normal((3, 5)), RNG.standard_normal(5)),
              (RNG.standard_normal((5, 4)), RNG.standard_normal(4)),
              (RNG.standard_normal((4, 1)), RNG.standard_normal(1))]
    g = cr.grad(mlp)(layers, X)
    assert isinstance(g, list) and all(type(layer) is tuple for layer in g)
    theirs = torch.func.grad(lambda ls: mlp(ls, torch.from_numpy(X), torch))(to_torch(layers))
    assert_trees_close(g, theirs)


def test_grad_of_namedtuple_and_dataclass_against_finite_differences():
    f = lambda w, b: cr.sum(cr.sin(w) * b) + cr.sum(w ** 3)
    w, b = RNG.standard_normal(3), RNG.standard_normal(3)
    cases = [(Pair(w, b), lambda q: f(q.w, q.b), ("w", "b")),
             (Layer(w, b), lambda q: f(q.weight, q.bias), ("weight", "bias"))]
    for q, loss_q, names in cases:
        g = cr.grad(loss_q)(q)
        assert type(g) is type(q)
        want = finite_difference_grad(loss_q, q)
        for name in names:
            assert isinstance(getattr(g, name), np.ndarray)
            np.testing.assert_allclose(getattr(g, name), getattr(want, name), rtol=1e-7,
                                       atol=1e-8)


def test_none_leaves_stay_none_in_the_gradient():
    p = {"w": np.array([1.0, 2.0]), "frozen": None, "more": [None, 3.0]}
    g = cr.grad(lambda p: cr.sum(p["w"] ** 2) * p["more"][1])(p)
    assert g["frozen"] is None and g["more"][0] is None
    np.testing.assert_array_equal(g["w"], [6.0, 12.0])
    assert g["more"][1] == 5.0


def test_value_and_grad_with_container_aux_and_argnums():
    p = params()

    def f(p, x):
        out = cr.tanh(x @ p["W"] + p["b"])
        return cr.sum(out ** 2), {"out": out, "stats": (cr.mean(out), "tag", 7)}

    (value, aux), (gp, gx) = cr.value_and_grad(f, argnums=(0, 1), has_aux=True)(p, X)
    assert value == pytest.approx(float(np.sum(np.tanh(X @ p["W"] + p["b"]) ** 2)), rel=1e-14)
    assert isinstance(aux["out"], np.ndarray) and type(aux["stats"][0]) is float
    assert aux["stats"][1:] == ("tag", 7)
    np.testing.assert_allclose(aux["out"], np.tanh(X @ p["W"] + p["b"]), rtol=1e-14)
    want = finite_difference_grad(lambda p: f(p, X)[0], {k: p[k] for k in ("W", "b")})
    np.testing.assert_allclose(gp["W"], want["W"], rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(gx, finite_difference_grad(lambda x: f(p, x)[0], X), rtol=1e-7,
                               atol=1e-8)
    g, aux2 = cr.grad(f, has_aux=True)(p, X)
    assert set(g) == {"W", "b", "s"} and g["s"] == 0.0 and set(aux2) == {"out", "stats"}


def test_nested_grad_over_containers_has_no_perturbation_confusion():
    # d/dx [x * d/dy (x * y)] = 2x, with y inside a dict
    assert cr.grad(lambda x: x * cr.grad(lambda p: x * p["y"])({"y": 5.0})["y"])(3.0) == 6.0
    inner = cr.grad(lambda x: cr.grad(lambda p: p["a"] * x * x)({"a": 1.0})["a"])(2.0)
    assert inner == 4.0  # d/dx x^2


# ----- vjp and jvp ---------------------------------------------------------------------------
def dict_out(p):
    h = cr.tanh(X @ p["W"] + p["b"])
    return {"h": h, "parts": (cr.sum(h) * p["s"], h[0] * p["b"])}


def dict_out_torch(p):
    import torch

    h = torch.tanh(torch.from_numpy(X) @ p["W"] + p["b"])
    return {"h": h, "parts": (torch.sum(h) * p["s"], h[0] * p["b"])}


def test_vjp_with_container_output_and_cotangent_matches_torch_func():
    torch = pytest.importorskip("torch")
    p = params()
    out, vjp_fn = cr.vjp(dict_out, p)
    ct = {"h": RNG.standard_normal((4, 2)), "parts": (1.5, RNG.standard_normal(2))}
    (g,) = vjp_fn(ct)
    t_out, t_vjp = torch.func.vjp(dict_out_torch, to_torch(p))
    assert_trees_close(out, t_out)
    assert_trees_close(g, t_vjp(to_torch(ct))[0])
    # None for a part of the output: zero cotangent there
    (g0,) = vjp_fn({"h": ct["h"], "parts": None})
    (t0,) = t_vjp(to_torch({"h": ct["h"], "parts": (0.0, np.zeros(2))}))
    assert_trees_close(g0, t0)


def test_vjp_refuses_a_cotangent_of_another_structure_naming_both():
    _, vjp_fn = cr.vjp(dict_out, params())
    with pytest.raises(ValueError, match=r"the cotangent has structure \{'h': \*\}, f's output "
                                         r"has structure \{'h': \*, 'parts': \(\*, \*\)\}"):
        vjp_fn({"h": np.ones((4, 2))})
    with pytest.raises(ValueError, match=r"cotangent of output\['parts'\]\[1\] has shape "
                                         r"\(3,\), the output has shape \(2,\)"):
        vjp_fn({"h": np.ones((4, 2)), "parts": (1.0, np.ones(3))})


def test_jvp_with_container_primals_and_tangents_matches_torch_func():
    torch = pytest.importorskip("torch")
    p = params()
    t = cr.tree_map(lambda x: RNG.standard_normal(np.shape(x)), p)
    t["s"] = float(t["s"])
    out, tangent = cr.jvp(dict_out, (p,), (t,))
    t_out, t_tan = torch.func.jvp(dict_out_torch, (to_torch(p),), (to_torch(t),))
    assert_trees_close(out, t_out)
    assert_trees_close(tangent, t_tan)


def test_jvp_refuses_tangents_of_another_structure():
    p = {"a": np.ones(2), "b": np.ones(2)}
    with pytest.raises(ValueError, match=r"tangents have structure \(\{'a': \*\},\), the "
                                         r"primals have structure \(\{'a': \*, 'b': \*\},\)"):
        cr.jvp(lambda p: p["a"], (p,), ({"a": np.ones(2)},))
    with pytest.raises(ValueError, match=r"the tangent of p\['b'\] has shape \(3,\)"):
        cr.jvp(lambda p: p["a"], (p,), ({"a": np.ones(2), "b": np.ones(3)},))


# ----- Jacobians, Hessian, hvp ---------------------------------------------------------------
@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev, cr.jacobian])
def test_jacobians_of_dict_to_dict_nest_output_outside_input_inside(jac):
    torch = pytest.importorskip("torch")
    p = params()
    ours = jac(dict_out)(p)
    theirs = torch.func.jacrev(dict_out_torch)(to_torch(p))
    assert ours["h"]["W"].shape == (4, 2, 3, 2) and ours["parts"][1]["b"].shape == (2, 2)
    assert_trees_close(ours, theirs)


def test_jacobian_with_argnums_tuple_over_containers():
    f = lambda p, q: p["a"] * q[0]
    a, q = np.array([1.0, 2.0]), [np.array([3.0, 4.0])]
    jp, jq = cr.jacrev(f, argnums=(0, 1))({"a": a}, q)
    np.testing.assert_array_equal(jp["a"], np.diag(q[0]))
    assert isinstance(jq, list)
    np.testing.assert_array_equal(jq[0], np.diag(a))


def test_hessian_of_a_dict_matches_torch_func():
    torch = pytest.importorskip("torch")
    p = params()
    h = cr.hessian(loss)(p)
    assert h["W"]["b"].shape == (3, 2, 2) and h["b"]["W"].shape == (2, 3, 2)
    assert type(h["s"]["s"]) is float
    assert_trees_close(h, torch.func.hessian(torch_loss)(to_torch(p)), rtol=1e-10, atol=1e-12)


def test_hvp_with_a_container_equals_the_hessian_contracted():
    p = params()
    v = cr.tree_map(lambda x: RNG.standard_normal(np.shape(x)), p)
    hv = cr.hvp(loss, p, v)
    h = cr.hessian(loss)(p)
    for a in p:
        want = sum(np.tensordot(h[a][b], v[b], axes=np.ndim(v[b])) for b in p)
        np.testing.assert_allclose(hv[a], want, rtol=1e-10, atol=1e-12)


# ----- checkpoint and gradcheck --------------------------------------------------------------
def test_checkpoint_with_container_arguments_and_a_tuple_result():
    calls = []

    def block(p, x):
        calls.append(1)
        h = cr.tanh(x @ p["W"] + p["b"])
        return h, {"sum": cr.sum(h), "n": 3}

    p = {k: cr.tensor(v, requires_grad=True) for k, v in params().items() if k != "s"}
    h, extra = cr.checkpoint(block, p, X)
    assert extra["n"] == 3 and isinstance(extra["sum"], cr.Tensor)
    (cr.sum(h ** 2) + extra["sum"]).backward()
    assert len(calls) == 2  # forward, then one recomputation for both outputs
    q = {k: cr.tensor(v.data, requires_grad=True) for k, v in p.items()}
    h2, extra2 = block(q, X)
    (cr.sum(h2 ** 2) + extra2["sum"]).backward()
    for k in p:
        np.testing.assert_allclose(p[k].grad, q[k].grad, rtol=1e-14)


def test_checkpoint_inside_grad_over_a_dict():
    p = params()
    f = lambda p: cr.sum(cr.checkpoint(lambda q: cr.tanh(X @ q["W"] + q["b"]), p) ** 2)
    g = cr.grad(f)(p)
    want = cr.grad(lambda p: cr.sum(cr.tanh(X @ p["W"] + p["b"]) ** 2))(p)
    assert_trees_close(g, want)


def test_gradcheck_takes_containers_and_names_the_leaf_at_fault():
    p = {"W": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2)}
    assert gradcheck(lambda p, x: dict_out({**p, "s": 2.0}), p, X, modes=("fwd", "rev"))

    @cr.primitive
    def bad_square(x):
        return x * x

    bad_square.defvjp(lambda g, ans, x: g * x)  # wrong: d x^2 = 2x dx
    with pytest.raises(GradcheckError, match=r"d out\[\d\] / d input 0\['b'\]\[\d\]"):
        gradcheck(lambda p: cr.sum(p["W"]) + bad_square(p["b"]), p, modes="rev")


# ----- refusals ------------------------------------------------------------------------------
def test_int_leaves_are_refused_naming_their_path():
    p = {"layers": [{"W": np.ones(2)}, {"W": np.ones(2)}, {"W": np.ones(2, dtype=np.int64)}]}
    f = lambda params: cr.sum(params["layers"][0]["W"])
    with pytest.raises(TypeError, match=r"grad: params\['layers'\]\[2\]\['W'\]: dtype int64"):
        cr.grad(f)(p)
    with pytest.raises(TypeError, match=r"jacrev: params\['layers'\]\[2\]\['W'\]: dtype int64"):
        cr.jacrev(f)(p)
    with pytest.raises(TypeError, match=r"hessian: params\['layers'\]\[2\]\['W'\]: dtype int64"):
        cr.hessian(f)(p)
    with pytest.raises(TypeError, match=r"vjp: params\['flag'\]: dtype bool"):
        cr.vjp(lambda params: params["x"], {"x": 1.0, "flag": True})
    with pytest.raises(TypeError, match=r"jvp: p\[1\]: dtype int64"):
        cr.jvp(lambda p: p[0], ([1.0, 2],), ([1.0, 1.0],))


def test_string_leaves_are_refused():
    with pytest.raises(TypeError, match=r"grad: p\['name'\]: a string \('relu'\) cannot be "
                                        r"differentiated"):
        cr.grad(lambda p: cr.sum(p["w"]))({"w": np.ones(2), "name": "relu"})


def test_non_scalar_container_output_of_grad_is_refused():
    with pytest.raises(ValueError, match=r"grad: f must return a scalar, it returned a "
                                         r"\{'a': \*\}"):
        cr.grad(lambda x: {"a": x})(1.0)


# ----- nn.Module parameters ------------------------------------------------------------------
def model_and_batch():
    model = cr.nn.Sequential(cr.nn.Linear(3, 5, rng=0), cr.nn.Tanh(), cr.nn.Linear(5, 2, rng=1))
    return model, RNG.standard_normal((6, 3)), RNG.standard_normal((6, 2))


def test_grad_of_state_dict_equals_backward():
    model, x, y = model_and_batch()
    mse = lambda p: cr.mean((cr.functional_call(model, p, x) - y) ** 2)
    g = cr.grad(mse)(model.state_dict())
    cr.mean((model(x) - y) ** 2).backward()
    assert sorted(g) == sorted(name for name, _ in model.named_parameters())
    for name, param in model.named_parameters():
        assert isinstance(g[name], np.ndarray)
        np.testing.assert_allclose(g[name], param.grad, rtol=1e-13, atol=1e-15)
    assert all(not isinstance(v, cr.Tensor) or v.requires_grad for v in model.parameters())


def test_grad_of_a_parameter_list_equals_backward():
    model, x, y = model_and_batch()
    names = [name for name, _ in model.named_parameters()]
    mse = lambda ps: cr.mean((cr.functional_call(model, dict(zip(names, ps)), x) - y) ** 2)
    g = cr.grad(mse)(list(model.parameters()))
    cr.mean((model(x) - y) ** 2).backward()
    assert isinstance(g, list) and all(isinstance(v, cr.Tensor) for v in g)
    for gi, param in zip(g, model.parameters()):
        np.testing.assert_allclose(gi.data, param.grad, rtol=1e-13, atol=1e-15)


def test_functional_call_restores_the_module_and_checks_names():
    model, x, _ = model_and_batch()
    before = model(x).data
    zeros = {k: np.zeros_like(v) for k, v in model.state_dict().items()}
    np.testing.assert_array_equal(cr.functional_call(model, zeros, x).data, np.zeros((6, 2)))
    np.testing.assert_array_equal(model(x).data, before)
    with pytest.raises(ValueError, match=r"has no parameter\(s\) 'nope'"):
        cr.functional_call(model, {"nope": 1.0}, x)


# ----- dtypes: what the user receives --------------------------------------------------------
C64 = np.array([0.5, -1.5, 2.0])  # a float64 constant


def test_float32_inputs_get_float32_derivatives_despite_a_float64_constant():
    x = np.array([0.3, -0.2, 0.9], dtype=np.float32)
    f = lambda x: cr.sum(cr.sin(x * C64))
    exact = np.cos(x.astype(np.float64) * C64) * C64
    g = cr.grad(f)(x)
    assert isinstance(g, np.ndarray) and g.dtype == np.float32
    np.testing.assert_allclose(g, exact, rtol=1e-6)
    (gv,) = cr.vjp(lambda x: cr.sin(x * C64), x)[1](np.ones(3))
    assert gv.dtype == np.float32
    for jac in (cr.jacfwd, cr.jacrev, cr.jacobian):
        j = jac(lambda x: cr.sin(x * C64))(x)
        assert j.dtype == np.float32
        np.testing.assert_allclose(j, np.diag(exact), rtol=1e-6)
    h = cr.hessian(f)(x)
    assert h.dtype == np.float32
    np.testing.assert_allclose(h, np.diag(-np.sin(x.astype(np.float64) * C64) * C64 ** 2),
                               rtol=1e-5, atol=1e-7)
    assert cr.hvp(f, x, np.ones(3, np.float32)).dtype == np.float32


def test_mixed_dtypes_in_one_container_keep_each_leafs_dtype():
    p = {"a": np.ones(3, np.float32), "b": np.ones(3, np.float64)}
    g = cr.grad(lambda p: cr.sum(p["a"] * p["b"] * C64))(p)
    assert (g["a"].dtype, g["b"].dtype) == (np.float32, np.float64)
    np.testing.assert_allclose(g["a"], C64, rtol=1e-7)


def test_nested_and_tensor_results_keep_the_input_dtype():
    x32 = np.array([0.3, -0.2, 0.9], dtype=np.float32)
    t = cr.grad(lambda x: cr.sum(x * C64))(cr.tensor(x32))
    assert isinstance(t, cr.Tensor) and t.dtype == np.float32
    seen = []

    def outer(y):
        inner = cr.grad(lambda x: cr.sum(x * C64 * y))(x32)  # nested: a Tensor
        seen.append((type(inner), inner.dtype))
        return cr.sum(inner)

    assert cr.grad(outer)(2.0) == pytest.approx(float(np.sum(C64)), rel=1e-6)
    assert seen == [(cr.Tensor, np.float32)]
