"""The backward engine: accumulation, deep graphs, retain_graph, cotangents, recording modes
(thread-local), hooks, ``chainrule.grad``, leaf gradients, and freeing what was saved."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import chainrule as cr


def leaf(values: object, dtype: object = None) -> cr.Tensor:
    return cr.tensor(values, dtype=dtype, requires_grad=True)


# ----- accumulation ------------------------------------------------------------------------
def test_a_times_a_gives_2a() -> None:
    a = leaf([1.5, -2.0])
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, -4.0])


def test_reuse_through_sums_adds_every_path() -> None:
    a = leaf(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0


def test_diamond_adds_both_branches() -> None:
    a = leaf([0.3, 1.2])
    left, right = a.sin(), a.exp()
    (left * right).sum().backward()  # d(sin a e^a) = (cos a + sin a) e^a
    x = a.data
    np.testing.assert_allclose(a.grad, (np.cos(x) + np.sin(x)) * np.exp(x), rtol=1e-15)


def test_a_node_reached_by_many_paths_counts_each_once_per_path() -> None:
    a = leaf(2.0)
    b = a * 3.0
    out = b * b + b.exp() + b  # d/db = 2b + e^b + 1, db/da = 3
    out.backward()
    np.testing.assert_allclose(a.grad, 3 * (2 * 6.0 + np.exp(6.0) + 1), rtol=1e-15)


def test_two_backwards_accumulate_into_grad() -> None:
    a = leaf([1.0, 2.0])
    (a * 3.0).sum().backward()
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0 + 2.0, 3.0 + 4.0])


def test_a_leaf_grad_is_its_own_array() -> None:
    """The seed handed to backward must not become (and later be mutated as) a leaf's .grad."""
    a, b = leaf([1.0, 2.0]), leaf([5.0, 6.0])
    seed = np.ones(2)
    (a + b).backward(seed)
    assert a.grad is not b.grad and a.grad is not seed
    a.grad += 1.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    np.testing.assert_array_equal(seed, [1.0, 1.0])


# ----- deep graphs ---------------------------------------------------------------------------
def test_a_100000_op_chain_backpropagates() -> None:
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(50_000):
        y = y * 1.00001
        y = y - 1e-6
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.00001 ** 50_000] * 2, rtol=1e-9)


# ----- retain_graph ----------------------------------------------------------------------------
def test_second_backward_without_retain_graph_is_a_clear_error() -> None:
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates() -> None:
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(first, 2 * np.exp([1.0, 2.0]), rtol=1e-15)
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-15)


def test_saved_arrays_are_freed_after_backward() -> None:
    x = leaf(np.ones(1000))
    mid = x * 3.0
    data = weakref.ref(mid.data)
    node = weakref.ref(mid)
    y = mid.exp().sum()
    del mid
    gc.collect()
    assert data() is not None, "the graph must keep what backward needs"
    y.backward()
    gc.collect()
    assert data() is None and node() is None, "backward did not release the saved arrays"


def test_retain_graph_keeps_the_saved_arrays() -> None:
    x = leaf(np.ones(10))
    mid = x * 3.0
    data = weakref.ref(mid.data)
    y = mid.exp().sum()
    del mid
    y.backward(retain_graph=True)
    gc.collect()
    assert data() is not None


# ----- cotangents -----------------------------------------------------------------------------
def test_backward_with_a_cotangent_is_a_vector_jacobian_product() -> None:
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    v = np.array([[1.0, -1.0], [0.5, 2.0]])
    (x * x).backward(v)
    np.testing.assert_array_equal(x.grad, 2 * x.data * v)


def test_backward_accepts_a_tensor_or_list_cotangent() -> None:
    x = leaf([1.0, 2.0, 3.0])
    (x * 2.0).backward(cr.tensor([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, -2.0])
    x.grad = None
    (x * 2.0).backward([1.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_backward_of_a_one_element_tensor_needs_no_cotangent() -> None:
    x = leaf([[2.0]])
    (x * x).backward()
    np.testing.assert_array_equal(x.grad, [[4.0]])


# ----- recording modes ------------------------------------------------------------------------
def test_no_grad_records_nothing_and_enable_grad_restores_recording() -> None:
    x = leaf([1.0])
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = x * 2
        with cr.enable_grad():
            assert cr.is_grad_enabled()
            z = x * 2
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf


def test_no_grad_restores_the_mode_after_an_exception() -> None:
    with pytest.raises(ZeroDivisionError), cr.no_grad():
        1 / 0  # noqa: B018
    assert cr.is_grad_enabled()


def test_modes_work_as_decorators() -> None:
    x = leaf([1.0])

    @cr.no_grad()
    def frozen() -> cr.Tensor:
        return x * 2

    @cr.enable_grad()
    def recorded() -> cr.Tensor:
        return x * 2

    assert not frozen().requires_grad
    with cr.no_grad():
        assert recorded().requires_grad
    assert cr.is_grad_enabled()


def test_set_grad_enabled() -> None:
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
        with cr.set_grad_enabled(True):
            assert cr.is_grad_enabled()
    assert cr.is_grad_enabled()


def test_no_grad_in_one_thread_does_not_affect_another() -> None:
    x = leaf([1.0])
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def worker() -> None:
        with cr.no_grad():
            inside.set()
            done.wait(5)
            seen["worker"] = (x * 2).requires_grad

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(5)
    seen["main"] = (x * 2).requires_grad
    done.set()
    t.join(5)
    assert seen == {"main": True, "worker": False}


def test_a_new_thread_starts_with_recording_on() -> None:
    seen = []
    with cr.no_grad():
        t = threading.Thread(target=lambda: seen.append(cr.is_grad_enabled()))
        t.start()
        t.join(5)
    assert seen == [True]


def test_one_decorator_used_by_two_threads_restores_each_threads_mode() -> None:
    """Thread A enters the decorated function, then thread B (inside its own no_grad) does;
    A leaves first. Each must get back its own mode, not the other's."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    @cr.no_grad()
    def step(entered: threading.Event, wait_for: threading.Event) -> None:
        entered.set()
        wait_for.wait(5)

    def thread_a() -> None:
        step(a_in, b_in)
        seen["a"] = cr.is_grad_enabled()
        a_out.set()

    def thread_b() -> None:
        with cr.no_grad():
            a_in.wait(5)
            step(b_in, a_out)
            seen["b inside"] = cr.is_grad_enabled()
        seen["b after"] = cr.is_grad_enabled()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert seen == {"a": True, "b inside": False, "b after": True}


# ----- hooks ------------------------------------------------------------------------------------
def test_a_hook_on_a_leaf_can_replace_its_gradient() -> None:
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [20.0, 40.0])


def test_a_hook_on_an_intermediate_changes_what_flows_upstream() -> None:
    x = leaf([1.0, 2.0])
    h = x * 3.0
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))  # returns None: observes only
    h.register_hook(lambda g: g + 1.0)
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * h.data)
    np.testing.assert_array_equal(x.grad, 3.0 * (2 * h.data + 1.0))
    assert h.grad is None, "a non-leaf keeps no .grad"


def test_a_removed_hook_is_not_called() -> None:
    x = leaf([1.0])
    calls = []
    remove = x.register_hook(lambda g: calls.append(1))
    (x * 2).sum().backward()
    remove()
    (x * 2).sum().backward()
    assert calls == [1]
    np.testing.assert_array_equal(x.grad, [4.0])


def test_a_hook_on_a_tensor_without_grad_is_refused() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).register_hook(lambda g: g)


# ----- chainrule.grad -------------------------------------------------------------------------
def test_grad_returns_gradients_and_leaves_dot_grad_alone() -> None:
    x, y = leaf([1.0, 2.0]), leaf(3.0)
    gx, gy = cr.grad((x * y).sum(), [x, y])
    np.testing.assert_array_equal(gx, [3.0, 3.0])
    assert gy == 3.0
    assert x.grad is None and y.grad is None


def test_grad_with_respect_to_an_intermediate() -> None:
    x = leaf([1.0, 2.0])
    h = x * 3.0
    gh, gx = cr.grad((h * h).sum(), [h, x])
    np.testing.assert_array_equal(gh, 2 * h.data)
    np.testing.assert_array_equal(gx, 3 * 2 * h.data)


def test_grad_of_an_unused_input_is_an_error_unless_allowed() -> None:
    x, unused = leaf([1.0]), leaf([5.0])
    with pytest.raises(ValueError, match="input 1.*not reachable.*allow_unused=True"):
        cr.grad((x * 2).sum(), [x, unused], retain_graph=True)
    gx, gu = cr.grad((x * 2).sum(), [x, unused], allow_unused=True)
    np.testing.assert_array_equal(gx, [2.0])
    assert gu is None


def test_grad_of_several_outputs_with_cotangents() -> None:
    x = leaf([1.0, 2.0])
    a, b = x * 2.0, x * x
    gx, = cr.grad([a, b], x, grad_outputs=[np.array([1.0, 1.0]), np.array([1.0, -1.0])])
    np.testing.assert_array_equal(gx, [2.0 + 2.0, 2.0 - 4.0])


def test_grad_with_create_graph_gives_differentiable_tensors() -> None:
    x = leaf(1.5)
    g, = cr.grad(x ** 3, x, create_graph=True)
    assert isinstance(g, cr.Tensor) and g.requires_grad
    h, = cr.grad(g, x)
    np.testing.assert_allclose([g.item(), h], [3 * 1.5 ** 2, 6 * 1.5], rtol=1e-15)


def test_backward_create_graph_makes_grad_a_tensor_that_differentiates() -> None:
    x = leaf([0.5, 1.0])
    (x.sin() * x).sum().backward(create_graph=True)
    assert isinstance(x.grad, cr.Tensor)
    d2, = cr.grad(x.grad.sum(), x)
    t = x.data
    np.testing.assert_allclose(d2, 2 * np.cos(t) - t * np.sin(t), rtol=1e-14)


# ----- leaf gradients: dtype and shape ------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_leaf_grad_has_the_leafs_dtype_and_shape(dtype: type) -> None:
    w = leaf(np.ones((1, 3)), dtype)
    x = leaf(np.ones((4, 3)), dtype)
    (x * w).sum().backward()
    for t in (w, x):
        assert isinstance(t.grad, np.ndarray)
        assert t.grad.dtype == dtype and t.grad.shape == t.shape
    np.testing.assert_array_equal(w.grad, [[4.0, 4.0, 4.0]])


def test_a_float32_leaf_gets_a_float32_grad_through_a_cast() -> None:
    x = leaf([1.0, 2.0], np.float32)
    y = x.double() * np.float64(3.0)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_python_scalars_do_not_upcast_float32() -> None:
    x = leaf([1.0, 2.0], np.float32)
    arrived = []
    x.register_hook(lambda g: arrived.append(np.asarray(g).dtype))  # before the leaf's cast
    y = (2.5 * x + 1) / 3 - x ** 2
    assert y.dtype == np.float32
    y.sum().backward()
    assert arrived == [np.float32]
    np.testing.assert_allclose(x.grad, 2.5 / 3 - 2 * np.array([1.0, 2.0]), rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: cr.tensor([1, 2, 3], requires_grad=True),
    lambda: cr.arange(3, dtype=np.int64, requires_grad=True),
    lambda: cr.tensor([True, False]).requires_grad_(),
])
def test_integer_tensors_cannot_require_grad(make: object) -> None:
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        make()


def test_detach_cuts_the_graph() -> None:
    x = leaf([2.0])
    y = x * x
    z = y.detach() * x
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0])
