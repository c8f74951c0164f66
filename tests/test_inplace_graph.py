"""In-place updates that take part in a derivative: self-assignment, forward mode (also
nested), the Tensor constructor, and the rest of the in-place surface, against PyTorch
(CPU, float64) and central finite differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
X0 = np.array([0.7, -1.3, 2.1])
V0 = np.array([0.3, -1.0, 2.0])


def _fd_grad(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _self_a(y):
    y[0] = y[1] * 2


def _self_b(y):
    y += y


def _self_c(y):
    y *= y


def _self_d(y):
    y[1:] = y[:-1]


def _self_e(y):
    y[0] = y[1]


def _self_f(y):
    y -= y[0]


def _self_g(y):
    y /= y[1]


def _self_h(y):
    y[1:] = y[:-1] * y[1:]


SELF = {"y[0] = y[1] * 2": _self_a, "y += y": _self_b, "y *= y": _self_c,
        "y[1:] = y[:-1]": _self_d, "y[0] = y[1]": _self_e, "y -= y[0]": _self_f,
        "y /= y[1]": _self_g, "y[1:] = y[:-1] * y[1:]": _self_h}


def _run_cr(change: Callable, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = cr.tensor(x0, requires_grad=True)
    y = x * 1
    change(y)
    (y * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    return y.data.copy(), x.grad


def _numpy_value(change: Callable, x0: np.ndarray) -> float:
    y = x0 * 1
    change(y)  # NumPy's own semantics of the value
    return float((y * np.array([1.0, 2.0, 3.0])).sum())


@pytest.mark.parametrize("name", SELF)
def test_a_write_whose_value_reads_the_written_tensor_differentiates(name: str) -> None:
    change = SELF[name]
    y, g = _run_cr(change, X0)
    y_np = X0 * 1
    change(y_np)
    np.testing.assert_allclose(y, y_np, rtol=1e-15)
    np.testing.assert_allclose(g, _fd_grad(lambda x: _numpy_value(change, x), X0), rtol=1e-7)
    xt = torch.tensor(X0, requires_grad=True)
    yt = xt * 1
    try:
        change(yt)
        (yt * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    except RuntimeError:  # PyTorch refuses y *= y, y /= y[1] and overlapping y[1:] = y[:-1]
        return
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-14)


def test_the_issue_example_leaves_a_gradient() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y[0] = y[1] * 2
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 3.0, 1.0])


def test_a_self_write_in_a_loop_matches_pytorch() -> None:
    w0 = np.array([0.5, 1.5])
    w = cr.tensor(w0, requires_grad=True)
    h = cr.zeros(5, 2)
    h[0] = w
    for i in range(1, 5):
        h[i] = h[i - 1] * w + 1.0
    (h * h).sum().backward()
    wt = torch.tensor(w0, requires_grad=True)
    rows = [wt]  # out of place: PyTorch refuses the in-place loop (a saved view changed)
    for _ in range(1, 5):
        rows.append(rows[-1] * wt + 1.0)
    ht = torch.stack(rows)
    (ht * ht).sum().backward()
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-14)


def _f_inplace(x):
    y = x * 1
    y[0] = 5.0
    y += x
    y[1:] = y[:-1] * x[1:]
    y *= y
    return y


def _f_reference(x):
    """_f_inplace out of place, in PyTorch."""
    a = 5.0 + x[0]
    return torch.stack([a, a * x[1], 2 * x[1] * x[2]]) ** 2


def test_in_place_updates_inside_jvp_update_the_tangent() -> None:
    value, tangent = cr.jvp(_f_inplace, (X0,), (V0,))
    vt, tt = torch.func.jvp(_f_reference, (torch.tensor(X0),), (torch.tensor(V0),))
    np.testing.assert_allclose(value, vt.numpy(), rtol=1e-14)
    np.testing.assert_allclose(tangent, tt.numpy(), rtol=1e-14)
    h = 1e-6
    plus, minus = _f_inplace(cr.tensor(X0 + h * V0)), _f_inplace(cr.tensor(X0 - h * V0))
    fd = (plus.data - minus.data) / (2 * h)
    np.testing.assert_allclose(tangent, fd, rtol=1e-7)


@pytest.mark.parametrize("change", ["y[0] = 5", "y += x", "y[1:] = x[:-1]"])
def test_each_in_place_op_in_forward_mode_matches_torch_func(change: str) -> None:
    def f(x, mod):
        y = x * 1
        if change == "y[0] = 5":
            y[0] = 5.0
        elif change == "y += x":
            y += x * x
        else:
            y[1:] = x[:-1]
        return y

    _, tangent = cr.jvp(lambda x: f(x, cr), (X0,), (V0,))
    _, tt = torch.func.jvp(lambda x: f(x, torch), (torch.tensor(X0),), (torch.tensor(V0),))
    np.testing.assert_allclose(tangent, tt.numpy(), rtol=1e-14)


def test_jvp_changes_its_input_in_place_as_torch_func_does() -> None:
    x = X0.copy()

    def g(z):
        z += 1.0
        return z * 2

    value, tangent = cr.jvp(g, (x,), (V0,))
    np.testing.assert_allclose(value, 2 * (X0 + 1))
    np.testing.assert_allclose(tangent, 2 * V0)
    np.testing.assert_allclose(x, X0 + 1)  # the caller's array, as torch.func.jvp changes it


def test_jvp_of_grad_with_in_place_inside_matches_pytorch() -> None:
    def loss(x):
        return (_f_inplace(x) ** 2).sum()

    _, hv = cr.jvp(cr.grad(loss), (X0,), (V0,))
    _, ht = torch.func.jvp(torch.func.grad(lambda x: (_f_reference(x) ** 2).sum()),
                           (torch.tensor(X0),), (torch.tensor(V0),))
    np.testing.assert_allclose(hv, ht.numpy(), rtol=1e-12)


def test_grad_of_jvp_with_in_place_inside_matches_pytorch() -> None:
    g = cr.grad(lambda x: cr.jvp(_f_inplace, (x,), (V0,))[1].sum())(X0)
    gt = torch.func.grad(lambda x: torch.func.jvp(_f_reference, (x,), (torch.tensor(V0),))[1]
                         .sum())(torch.tensor(X0))
    np.testing.assert_allclose(g, gt.numpy(), rtol=1e-12)


def test_nested_jvp_with_in_place_inside_matches_finite_differences() -> None:
    def inner(x):
        return cr.jvp(_f_inplace, (x,), (V0,))[1].sum()

    first, second = cr.jvp(inner, (X0,), (V0,))
    _, tt = torch.func.jvp(_f_reference, (torch.tensor(X0),), (torch.tensor(V0),))
    np.testing.assert_allclose(first, tt.sum().item(), rtol=1e-14)
    h = 1e-5
    fd = (inner(cr.tensor(X0 + h * V0)).item() - inner(cr.tensor(X0 - h * V0)).item()) / (2 * h)
    np.testing.assert_allclose(second, fd, rtol=1e-6)


@pytest.mark.parametrize("changes", [1, 2])
def test_a_view_whose_base_changed_in_place_has_no_stale_tangent(changes: int) -> None:
    def f(x):
        y = x * 1
        if changes == 2:
            y += 1.0  # the view below is taken after a first change
        v = y[0:2]
        y += x
        return v * 2  # v's values changed with y, its tangent would be stale

    with pytest.raises(RuntimeError, match="tangent.*modified in place through an alias"):
        cr.jvp(f, (X0,), (V0,))


def test_the_constructor_refuses_a_tensor_that_needs_a_gradient() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"Tensor\(\.\.\.\).*chainrule\.tensor\(data\)"):
        cr.Tensor(x)
    with pytest.raises(TypeError, match="chainrule.tensor"):
        cr.Tensor([x, 2 * x])
    with pytest.raises(TypeError, match="forward-mode tangent"):
        cr.jvp(lambda z: cr.Tensor(z), (X0,), (V0,))
    np.testing.assert_array_equal(cr.Tensor(x.detach()).data, [1.0, 2.0])
    (cr.tensor([x, 2 * x]).sum()).backward()  # the differentiable copy
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_setitem_of_a_value_that_requires_grad_into_a_plain_tensor_matches_index_put() -> None:
    w = cr.tensor([2.0, 3.0], requires_grad=True)
    y = cr.zeros(3)
    y[0:2] = w * w
    assert y.requires_grad
    (y * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    wt = torch.tensor([2.0, 3.0], dtype=torch.float64, requires_grad=True)
    yt = torch.zeros(3, dtype=torch.float64)
    yt[0:2] = wt * wt
    (yt * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-15)


@pytest.mark.parametrize("symbol", ["**=", "@="])
def test_pow_and_matmul_in_place_keep_the_tensor_and_match_pytorch(symbol: str) -> None:
    a0 = np.array([[1.5, -0.5], [0.25, 2.0]])

    def run(mod, a):
        y = a * 1
        alias = y[0]
        if symbol == "**=":
            y **= 3
        else:
            y @= a
        return y, alias

    a = cr.tensor(a0, requires_grad=True)
    y, alias = run(cr, a)
    assert y._version == 1 and np.shares_memory(alias.data, y.data)
    np.testing.assert_array_equal(alias.data, y.data[0])  # changed in place, as NumPy's
    y.sum().backward()
    at = torch.tensor(a0, requires_grad=True)
    yt, _ = run(torch, at)
    yt.sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-14)


def test_an_integer_tensor_refuses_a_value_that_needs_a_gradient() -> None:
    w = cr.tensor([1.5, 2.5], requires_grad=True)
    i = cr.tensor([1, 2])
    with pytest.raises(TypeError, match=r"\+=: a tensor of dtype int64 can't hold"):
        i += w
    with pytest.raises(TypeError, match="dtype int64 can't hold"):
        i[0] = w[0]
    with pytest.raises(TypeError, match=r"\+=: can't update a tensor .* dtype int64"):
        i += 1.5  # no gradient involved: NumPy's casting rule, with the operation named
    assert i._version == 0


def test_a_change_under_no_grad_keeps_the_values_the_node_produced() -> None:
    """The node of ``exp`` uses its result; after ``h += 1`` under no_grad (which PyTorch
    refuses at backward), the gradient is the recorded function's, exp(x)."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    with cr.no_grad():
        h += 1.0
    h.backward(np.ones(2))
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]), rtol=1e-15)
    np.testing.assert_allclose(h.data, np.exp([1.0, 2.0]) + 1, rtol=1e-15)


def test_assigning_data_of_a_computed_tensor_keeps_its_graph_and_values() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    h.data = np.zeros(2)
    h.backward(np.ones(2))
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]), rtol=1e-15)
    with pytest.raises(TypeError, match="requires grad"):
        h.data = x * 2  # a Tensor that needs a gradient is not taken as plain values


@pytest.mark.parametrize("symbol", ["+=", "-=", "*=", "/=", "**=", "@=", "[...] ="])
def test_every_in_place_op_under_no_grad_is_seen_at_backward(symbol: str) -> None:
    w = cr.tensor(np.eye(2) + 1, requires_grad=True)
    x = cr.tensor(np.eye(2) * 2 + 1)
    y = (w * x).sum()
    with cr.no_grad():
        if symbol == "[...] =":
            x[...] = 1.0
        else:
            exec(f"x {symbol} x", {}, {"x": x})
    assert x._version == 1
    with pytest.raises(RuntimeError, match="argument 1 of 'mul'.*modified in place"):
        y.backward()


def test_view_between_two_changes_inside_grad_of_jvp_is_refused():
    """NumPy semantics make ``v`` see the second change (v = 2x + 1, so d/dx sum(2v) = 4 on
    the first two entries); a view that kept the first change's values would give 2
    silently. Every combination either refuses or is right."""
    def f(x):
        y = x * 1
        y += 1
        v = y[0:2]
        y += x
        return (v * 2).sum()

    x = np.array([1.0, 2.0, 3.0])
    ones = np.ones(3)
    for run in (lambda: cr.grad(lambda x: cr.jvp(f, (x,), (ones,))[0])(x),
                lambda: cr.grad(lambda x: cr.jvp(f, (x,), (ones,))[1])(x),
                lambda: cr.jvp(f, (x,), (ones,)),
                lambda: cr.grad(f)(x)):
        with pytest.raises(RuntimeError, match="modified in place"):
            run()


def test_a_write_whose_graph_was_freed_says_so() -> None:
    x = cr.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2
    z = y[0:2]
    z.sum().backward()  # frees the graph through y
    with pytest.raises(RuntimeError, match="graph through 'mul' was already freed"):
        y[0] = z[1] * 3
