"""Views share their base's version counter: an in-place change through any alias of the
memory a node saved is refused at backward, never turned into a silently wrong gradient."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr
from chainrule.primitive import primitive


@primitive
def _first_row(x: np.ndarray) -> np.ndarray:
    """A user's primitive that returns a view of its input (no rules needed here)."""
    return x[0]


@primitive
def _itself(x: np.ndarray) -> np.ndarray:
    """A user's primitive whose forward returns its input array itself."""
    return x


# Every op that returns a view of its input: (name, op on a (2, 3) float64 tensor).
# Extend this list with each new view-producing op.
VIEW_OPS: dict[str, Callable[[cr.Tensor], cr.Tensor]] = {
    "reshape": lambda x: x.reshape(3, 2),
    "view": lambda x: x.view(6),
    "flatten": lambda x: x.flatten(),
    "slice": lambda x: x[:, 1:],
    "int index": lambda x: x[1],
    "ellipsis index": lambda x: x[..., 0],
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "transpose": lambda x: x.transpose(1, 0),
    "permute": lambda x: x.permute(1, 0),
    "swapaxes": lambda x: x.swapaxes(0, 1),
    "broadcast_to": lambda x: cr.broadcast_to(x, (4, 2, 3)),
    "expand": lambda x: x.expand(2, 2, 3),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "squeeze": lambda x: x.unsqueeze(1).squeeze(1),
    "view of a view": lambda x: x[1:].T.reshape(3),
    "detach": lambda x: x.detach(),
    "astype to the same dtype": lambda x: x.astype(np.float64),
    "np.reshape (interop)": lambda x: np.reshape(x, (6,)),
    "np.transpose (interop)": lambda x: np.transpose(x),
    "flip": lambda x: cr.flip(x),
    "fliplr": lambda x: cr.fliplr(x),
    "flipud": lambda x: cr.flipud(x),
    "rot90": lambda x: cr.rot90(x),
    "moveaxis": lambda x: cr.moveaxis(x, 0, -1),
    "rollaxis": lambda x: cr.rollaxis(x, 1),
    "atleast_3d": lambda x: cr.atleast_3d(x),
    "ravel": lambda x: cr.ravel(x),
    "ravel (method)": lambda x: x.ravel(),
    "array_split piece": lambda x: cr.array_split(x, 2, axis=1)[1],
    "hsplit piece": lambda x: cr.hsplit(x, 3)[0],
    "vsplit piece": lambda x: cr.vsplit(x, 2)[1],
    "np.flip (interop)": lambda x: np.flip(x, 0),
    "np.moveaxis (interop)": lambda x: np.moveaxis(x, 0, 1),
    "user primitive returning a view": _first_row,
    "user primitive returning its input": _itself,
}


def _base() -> cr.Tensor:
    return cr.tensor(np.arange(6.0).reshape(2, 3) + 1)


def _change(t: cr.Tensor, how: str) -> None:
    """Change ``t``'s memory in place (``+=``, ``t[...] = v``)."""
    if how == "+=":
        t += 10.0
    else:
        t[...] = 100.0


@pytest.mark.parametrize("name", VIEW_OPS)
def test_the_op_returns_a_view_that_shares_the_version_counter(name: str) -> None:
    x = _base()
    v = VIEW_OPS[name](x)
    assert np.shares_memory(v.data, x.data), f"{name} is no view: drop it from VIEW_OPS"
    version = x._version
    with cr.no_grad():
        if v.data.flags.writeable:
            v += 1.0
        else:
            x += 1.0
    assert v._version == x._version == version + 1


@pytest.mark.parametrize("how", ["+=", "setitem"])
@pytest.mark.parametrize("name", VIEW_OPS)
def test_a_change_through_the_base_is_seen_by_a_node_that_saved_the_view(
        name: str, how: str) -> None:
    x = _base()
    v = VIEW_OPS[name](x)
    w = cr.tensor(np.ones(v.shape), requires_grad=True)
    y = (w * v).sum()
    _change(x, how)
    with pytest.raises(RuntimeError, match="argument 1 of 'mul'.*modified in place"):
        y.backward()
    assert w.grad is None


@pytest.mark.parametrize("how", ["+=", "setitem"])
@pytest.mark.parametrize("name", VIEW_OPS)
def test_a_change_through_the_view_is_seen_by_a_node_that_saved_the_base(
        name: str, how: str) -> None:
    x = _base()
    v = VIEW_OPS[name](x)
    w = cr.tensor(np.ones(x.shape), requires_grad=True)
    y = (w * x).sum()
    if not v.data.flags.writeable:  # a broadcast: NumPy refuses to write through it
        with pytest.raises(ValueError, match="in place"):
            _change(v, how)
        return
    _change(v, how)
    with pytest.raises(RuntimeError, match="argument 1 of 'mul'.*modified in place"):
        y.backward()


def test_the_two_examples_of_issue_10_raise() -> None:
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = cr.tensor([1.0, 2.0, 3.0])
    y = (w * x.reshape(3)).sum()
    x += 10
    with pytest.raises(RuntimeError, match="modified in place.*through an alias"):
        y.backward()
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = cr.tensor([1.0, 2.0, 3.0])
    y = (w * x[0:2]).sum()
    x[0] = 100.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_a_copying_op_is_no_view_and_keeps_its_gradient() -> None:
    x = _base()
    c = x[[1, 0]]  # advanced indexing copies, as in NumPy
    assert not np.shares_memory(c.data, x.data)
    w = cr.tensor(np.ones(c.shape), requires_grad=True)
    y = (w * c).sum()
    x += 10
    y.backward()
    np.testing.assert_array_equal(w.grad, [[4.0, 5.0, 6.0], [1.0, 2.0, 3.0]])


def test_assigning_data_through_a_view_is_seen_and_unlinks_the_view() -> None:
    x = _base()
    v = x.reshape(6)
    w = cr.tensor(np.ones(6), requires_grad=True)
    y = (w * v).sum()
    v.data = np.zeros(6)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
    with cr.no_grad():
        v += 1.0  # new memory: no longer an alias of x
    np.testing.assert_array_equal(x.data.ravel(), np.arange(6.0) + 1)


def test_detach_shares_the_version_as_in_pytorch() -> None:
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2
    y = (h * h).sum()
    d = h.detach()
    d += 1.0
    with pytest.raises(RuntimeError, match="argument 0 of 'mul'.*modified in place"):
        y.backward()


def test_a_recorded_change_of_a_view_is_refused() -> None:
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = cr.tensor([5.0, 6.0], requires_grad=True)
    h = a * 2
    v = h[0:2]
    with pytest.raises(RuntimeError, match=r"\+=: this tensor \(shape \(2,\)\) is a view"):
        v += w


def test_a_recorded_change_of_a_plain_tensor_with_plain_views_is_refused() -> None:
    """The views were taken before the tensor joined the graph: they would see the new
    values with no path to ``w``, a silently missing gradient."""
    x = _base()
    _ = x[0]
    w = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="views of this tensor.*before it joined the graph"):
        x[1] = w


def test_a_view_taken_before_a_recorded_change_of_its_base_refuses_backward() -> None:
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = cr.tensor([1.0, 1.0, 1.0], requires_grad=True)
    h = a * 2
    v = h[0:2]
    h += w  # h joins the graph anew; v's getitem node saved the old version of h
    with pytest.raises(RuntimeError, match="argument 0 of 'getitem'.*modified in place"):
        (v * 3.0).sum().backward()


def test_the_same_change_after_taking_the_view_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    a0 = np.array([1.0, 2.0, 3.0])
    a = cr.tensor(a0, requires_grad=True)
    h = a * 2
    h += a
    v = h[0:2]  # taken after the change: sees it, with the graph that made it
    (v * v).sum().backward()
    at = torch.tensor(a0, requires_grad=True)
    ht = at * 2
    ht += at
    (ht[0:2] * ht[0:2]).sum().backward()
    np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-15)


def test_optimizer_steps_on_a_parameter_are_seen_through_its_views() -> None:
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)
    stale = (w.T * w.T).sum()
    (w * w).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        stale.backward()


def test_forward_mode_duals_share_the_version_of_their_primal() -> None:
    from chainrule.tensor import dual

    x = cr.tensor([1.0, 2.0])
    d = dual(1, x, np.ones(2))
    with cr.no_grad():
        x += 1.0
    assert d._version == x._version == 1


def test_writing_into_the_raw_array_is_not_tracked() -> None:
    """``t.data`` (and ``t.numpy()``) hand out the array itself: writing into it is NumPy's
    business, unseen by the version counter, like PyTorch's ``.data``. Assign ``t.data =``,
    or use ``t[...] = v``, to have the change counted."""
    x = _base()
    (x.data)[0, 0] = 50.0
    assert x._version == 0
    x[0, 0] = 60.0
    assert x._version == 1
