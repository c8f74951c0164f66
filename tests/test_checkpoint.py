"""Gradient checkpointing: same gradients as the plain graph, fewer bytes held."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import cutlog, functional, memory
from chainrule.check import numerical_jacobian
from chainrule.checkpoint import checkpoint, checkpoint_sequential
from chainrule.nn import Linear, Tanh


def mlp_layers(depth: int, width: int = 16, seed: int = 0) -> list:
    """Linear + tanh blocks (float64), the layers of a deep MLP."""
    layers = []
    for i in range(depth):
        layers += [Linear(width, width, init="xavier", rng=seed + i), Tanh()]
    return layers


def params_of(layers: list) -> list:
    return [p for layer in layers for p in layer.parameters()]


def run(layers: list, x: cr.Tensor) -> cr.Tensor:
    for layer in layers:
        x = layer(x)
    return x


def test_deep_mlp_gradients_equal_and_fewer_bytes():
    layers = mlp_layers(24)
    params = params_of(layers)
    x = cr.randn(8, 16, rng=1, requires_grad=True)

    loss = (run(layers, x) ** 2).sum()
    plain_bytes = memory.saved_bytes(loss, leaves=False)
    plain = cr.grad(loss, [x, *params])

    loss_ck = (checkpoint_sequential(layers, None, x) ** 2).sum()
    ck_bytes = memory.saved_bytes(loss_ck, leaves=False)
    ck = cr.grad(loss_ck, [x, *params])

    assert loss_ck.item() == pytest.approx(loss.item(), rel=1e-15)
    for a, b in zip(plain, ck):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    assert ck_bytes < plain_bytes / 2


def test_sqrt_l_segments_hold_about_two_sqrt_l_layers():
    depth = 100
    layers = mlp_layers(depth, width=8)
    x = cr.randn(4, 8, rng=2, requires_grad=True)
    one_layer = (run(layers[:2], x) ** 2).sum()
    # one block saves its input (matmul), x @ W (add) and x @ W + b (tanh); the input of
    # the first block is the leaf x, so measure a block that follows another
    per_layer = memory.saved_bytes((run(layers[:4], x) ** 2).sum(), leaves=False) - \
        memory.saved_bytes(one_layer, leaves=False)
    with memory.track(leaves=False) as plain:
        (run(layers, x) ** 2).sum().backward()
    with memory.track(leaves=False) as ck:
        (checkpoint_sequential(layers, None, x) ** 2).sum().backward()
    assert plain.peak >= depth * per_layer
    assert ck.peak <= 2 * math.sqrt(depth) * per_layer
    assert plain.current == ck.current == 0  # backward released everything


def test_checkpoint_recomputes_once_per_backward():
    calls = []
    w = cr.tensor([0.5, -1.5, 2.0], requires_grad=True)

    def f(t):
        calls.append(1)
        return (t * w).sin()

    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = checkpoint(f, x).sum()
    assert len(calls) == 1
    gx, gw = cr.grad(y, [x, w])
    assert len(calls) == 2
    c = np.cos(x.data * w.data)
    np.testing.assert_allclose(gx, c * w.data, rtol=1e-14)
    np.testing.assert_allclose(gw, c * x.data, rtol=1e-14)


def test_checkpoint_matches_finite_differences():
    w = cr.tensor([[0.3, -0.7], [1.1, 0.4]], requires_grad=True)

    def f(x):
        x = x if isinstance(x, cr.Tensor) else cr.tensor(x)
        return checkpoint(lambda t: (t @ w).tanh() * t, x).sum()

    x0 = np.array([[0.2, -0.5], [0.9, 0.1]])
    x = cr.tensor(x0, requires_grad=True)
    g, = cr.grad(f(x), x)
    numeric, = numerical_jacobian(lambda a: f(a).data, x0)
    np.testing.assert_allclose(g, numeric.reshape(x0.shape), rtol=1e-7, atol=1e-9)


def test_closure_parameters_get_gradients_with_backward():
    layers = mlp_layers(3, width=5)
    x = cr.randn(2, 5, rng=3)
    (run(layers, x) ** 2).sum().backward()
    expected = [p.grad.copy() for p in params_of(layers)]
    for p in params_of(layers):
        p.grad = None
    (checkpoint(lambda t: run(layers, t), x) ** 2).sum().backward()
    for p, e in zip(params_of(layers), expected):
        np.testing.assert_allclose(p.grad, e, rtol=1e-13, atol=1e-15)


def test_non_leaf_closure_tensor_keeps_the_outer_graph_intact():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = w * 3.0  # computed outside, read inside through the closure
    x = cr.tensor([0.5, -0.5], requires_grad=True)
    out = (checkpoint(lambda t: t * y, x) + y).sum()
    out.backward()
    np.testing.assert_allclose(w.grad, 3.0 * x.data + 3.0)
    np.testing.assert_allclose(x.grad, y.data)


def test_vjp_through_checkpoint():
    def f(x):
        return checkpoint(lambda t: t.exp() * t.sin(), x)

    x0 = np.array([0.1, 0.7, -1.2])
    ct = np.array([1.0, -2.0, 0.5])
    out, vjp_fn = functional.vjp(f, x0)
    _, plain_fn = functional.vjp(lambda t: t.exp() * t.sin(), x0)
    np.testing.assert_allclose(vjp_fn(ct)[0], plain_fn(ct)[0], rtol=1e-14)
    np.testing.assert_allclose(vjp_fn(ct)[0], plain_fn(ct)[0], rtol=1e-14)  # twice


def test_nested_differentiation_through_checkpoint():
    def f(x):
        return checkpoint(lambda t: (t.sin() * t ** 2).sum(), x)

    x0 = np.array([0.3, -0.2, 1.1])
    h = functional.hessian(f)(x0)
    expected = np.diag(2 * np.sin(x0) + 4 * x0 * np.cos(x0) - x0 ** 2 * np.sin(x0))
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-14)
    third = functional.grad(lambda t: functional.grad(f)(t).sum())(x0)
    plain = functional.grad(lambda t: functional.grad(
        lambda u: (u.sin() * u ** 2).sum())(t).sum())(x0)
    np.testing.assert_allclose(third, plain, rtol=1e-12)


def test_create_graph_through_checkpoint_sequential():
    layers = mlp_layers(4, width=3)
    x = cr.tensor([[0.2, -0.4, 0.6]], requires_grad=True)
    g_ck, = cr.grad((checkpoint_sequential(layers, 2, x) ** 2).sum(), x, create_graph=True)
    g, = cr.grad((run(layers, x) ** 2).sum(), x, create_graph=True)
    h_ck, = cr.grad(g_ck.sum(), x)
    h, = cr.grad(g.sum(), x)
    np.testing.assert_allclose(g_ck.data, g.data, rtol=1e-13)
    np.testing.assert_allclose(h_ck, h, rtol=1e-12, atol=1e-14)


def test_forward_mode_calls_fn_directly():
    f = lambda t: (t * t).sin()  # noqa: E731
    x0, v = np.array([0.4, 0.9]), np.array([1.0, -1.0])
    _, t_ck = functional.jvp(lambda t: checkpoint(f, t), (x0,), (v,))
    np.testing.assert_allclose(t_ck, np.cos(x0 ** 2) * 2 * x0 * v, rtol=1e-14)


def test_no_grad_and_no_inputs_requiring_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        y = checkpoint(lambda t: t * 2, x)
    assert y._node is None and not y.requires_grad
    z = checkpoint(lambda t: t * 2, cr.tensor([1.0]))
    assert z._node is None


def test_inplace_change_of_checkpoint_input_is_detected():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = checkpoint(lambda t: t.exp(), h).sum()
    h += 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_checkpoint_forward_is_not_logged_as_a_cut():
    cutlog.clear()
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    checkpoint(lambda t: t * w, cr.tensor([3.0, 4.0], requires_grad=True)).sum().backward()
    assert cutlog.events() == []


def test_bad_arguments():
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="must return a Tensor or a container of Tensors, it "
                                        "returned str"):
        checkpoint(lambda t: "out", x)
    with pytest.raises(ValueError, match="segments must be an int between 1 and"):
        checkpoint_sequential([lambda t: t] * 3, 4, x)
    with pytest.raises(ValueError, match="no layers"):
        checkpoint_sequential([], None, x)


def test_segments_split_evenly():
    seen = []
    layers = [lambda t, i=i: seen.append(i) or t * 1.0 for i in range(7)]
    x = cr.tensor([1.0], requires_grad=True)
    checkpoint_sequential(layers, 3, x).sum().backward()
    # forward: 0..6 once; backward recomputes the two checkpointed segments, last first
    assert seen[:7] == list(range(7))
    assert sorted(seen[7:]) == list(range(5))
