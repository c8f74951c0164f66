"""Bytes held for backward: exact counts on small graphs, views and sharing, the tracker."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import chainrule as cr
from chainrule import memory


def test_saved_bytes_counts_what_nodes_keep():
    x = cr.randn(1000, rng=0, requires_grad=True)  # 8000 bytes
    y = x.exp().sin()  # exp keeps x, sin keeps exp(x)
    assert memory.saved_bytes(y) == 16000
    assert memory.saved_bytes(y, leaves=False) == 8000
    z = y.astype(np.float32).sum()  # astype keeps sin(...) (8000), sum keeps float32 (4000)
    assert memory.saved_bytes(z, leaves=False) == 8000 + 8000 + 4000


def test_a_buffer_is_counted_once_however_many_nodes_or_views_share_it():
    x = cr.randn(100, rng=1, requires_grad=True)
    a = x.exp()
    b = a * a  # mul keeps a twice
    assert memory.saved_bytes(b, leaves=False) == 800
    c = a[:50] * a[50:]  # both getitems keep a; the mul keeps two views of one getitem each
    views = memory.saved_bytes(c, leaves=False)
    # a (800) plus the two slices, which are views of a: counted at their owner, once
    assert views == 800
    # sum keeps the slice, a view: it holds all of x's buffer alive, counted once with x
    assert memory.saved_bytes(x[10:20].sum()) == 800
    assert memory.saved_bytes((x[10:20] * 1.0).sum()) == 800 + 80  # a new array of 10


def test_constants_are_counted_and_leaves_flag_skips_them():
    x = cr.randn(10, rng=2, requires_grad=True)
    const = np.ones(10)
    y = x * const  # keeps x (a leaf) and the constant array
    assert memory.saved_bytes(y) == 160
    assert memory.saved_bytes(y, leaves=False) == 80  # the raw constant is not a leaf Tensor


def test_released_graph_holds_nothing():
    x = cr.randn(50, rng=3, requires_grad=True)
    y = x.tanh().sum()
    assert memory.saved_bytes(y) > 0
    y.backward()
    assert memory.saved_bytes(y) == 0


def test_tracker_follows_forward_and_backward():
    x = cr.randn(1000, rng=4, requires_grad=True)
    with memory.track(leaves=False) as m:
        h = x.exp()
        assert m.current == 0  # exp keeps only the leaf
        h2 = h.sin()
        assert m.current == 8000
        loss = h2.cos().sum()
        assert m.current == m.peak == 8000 * 3
        loss.backward()
        assert m.current == 0
    assert m.peak == 24000
    assert m.nodes == 4


def test_tracker_releases_graphs_dropped_without_backward():
    x = cr.randn(100, rng=5, requires_grad=True)
    with memory.track() as m:
        y = x.exp().sin()
        assert m.current == 1600
        del y
        gc.collect()
        assert m.current == 0
    assert m.peak == 1600


def test_nested_trackers_and_untracked_nodes():
    x = cr.randn(10, rng=6, requires_grad=True)
    before = x.exp()  # recorded outside: not counted
    with memory.track() as outer:
        a = before.sin()
        with memory.track() as inner:
            b = a.cos()
        assert inner.peak == 80 and outer.peak == 160
    assert not memory.TRACKERS
    assert b.requires_grad


@pytest.mark.parametrize("dtype, size", [(np.float32, 4), (np.float64, 8)])
def test_bytes_follow_dtype(dtype, size):
    x = cr.tensor(np.ones(25, dtype=dtype), requires_grad=True)
    assert memory.saved_bytes(x.exp().exp(), leaves=False) == 25 * size


def test_graph_tensors_walks_each_tensor_once():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    a = x * 2
    y = a * a + a
    tensors = list(memory.graph_tensors(y))
    assert len(tensors) == len({id(t) for t in tensors}) == 4  # y, a * a, a, x
