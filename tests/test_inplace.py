"""In-place safety: version counters catch changes to tensors saved for backward."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD


def test_plus_equals_on_a_saved_tensor_fails_at_backward_naming_it():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    h = w * 2
    h.name = "h"
    y = (h * h).sum()
    h += 1
    with pytest.raises(RuntimeError) as info:
        y.backward()
    msg = str(info.value)
    assert "'mul'" in msg and "'h'" in msg and "shape (2,)" in msg
    assert "modified in place" in msg and "version 0, now 1" in msg


def test_setitem_on_a_saved_constant_fails():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = cr.tensor([3.0, 4.0])
    y = (w * x).sum()
    x[0] = 5.0
    with pytest.raises(RuntimeError, match="argument 1 of 'mul'.*modified in place"):
        y.backward()


def test_assigning_data_counts_as_in_place():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = cr.tensor([3.0, 4.0])
    y = (w * x).sum()
    x.data = np.zeros(2)
    assert x._version == 1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_leaf_requiring_grad_cannot_change_in_place_while_recording():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w += 1


def test_in_place_ops_while_recording_join_the_graph():
    torch = pytest.importorskip("torch")
    x0 = np.array([0.5, -1.0, 2.0])
    x = cr.tensor(x0, requires_grad=True)
    h = x * 2
    h += x.exp()
    h[1] = x[0] * 3.0
    h *= x
    h.sum().backward()
    xt = torch.tensor(x0, requires_grad=True)
    ht = xt * 2
    ht += xt.exp()
    ht[1] = xt[0] * 3.0
    ht *= xt
    ht.sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(h.data, ht.detach().numpy(), rtol=1e-14)


def test_optimizer_steps_stay_legal_but_stale_graphs_are_refused():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.data, np.array([1.0, -2.0]) * 0.8 ** 3)
    stale = (w ** 2).sum()
    opt.zero_grad()
    (w ** 2).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="argument 0 of 'pow'"):
        stale.backward()


def test_changes_under_no_grad_bump_the_version():
    x = cr.tensor([1.0, 2.0])
    with cr.no_grad():
        x += 1
        x[0] = 0.0
    assert x._version == 2
    np.testing.assert_array_equal(x.data, [0.0, 3.0])
