"""Bad input gives a clear error naming the operation and the shapes, types or values at
fault: each message is asserted, not just the exception type."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr


def leaf(*shape: int) -> cr.Tensor:
    return cr.ones(*shape, requires_grad=True)


def raises(kind: type[Exception], message: str, call: Callable[[], object]) -> None:
    with pytest.raises(kind, match=re.escape(message)):
        call()


# ----- shapes that do not broadcast ------------------------------------------------------------
@pytest.mark.parametrize(("op", "call"), [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("pow", lambda a, b: a ** b),
    ("maximum", cr.maximum),
    ("minimum", cr.minimum),
    ("add", cr.add),
])
def test_binary_ops_name_themselves_and_both_shapes(op: str, call: Callable) -> None:
    raises(ValueError, f"{op}: shapes (3,) and (4,) do not broadcast",
           lambda: call(leaf(3), leaf(4)))


def test_broadcast_errors_on_raw_arrays_and_mixed_operands() -> None:
    raises(ValueError, "add: shapes (2, 3) and (2,) do not broadcast",
           lambda: cr.add(np.ones((2, 3)), np.ones(2)))
    raises(ValueError, "mul: shapes (5,) and (2, 3) do not broadcast",
           lambda: np.ones(5) * leaf(2, 3))


def test_other_numpy_refusals_are_named_after_the_op() -> None:
    raises(ValueError, "pow: Integers to negative integer powers are not allowed",
           lambda: cr.tensor([2, 3]) ** -1)


def test_where_names_all_three_shapes() -> None:
    raises(ValueError, "where: shapes (2,), (3,) and (3,) do not broadcast",
           lambda: cr.where(np.array([True, False]), leaf(3), leaf(3)))


@pytest.mark.parametrize(("a", "b", "message"), [
    ((3, 4), (5, 2), "matmul: (3, 4) @ (5, 2): inner dimensions 4 and 5 differ"),
    ((4,), (3,), "matmul: (4,) @ (3,): inner dimensions 4 and 3 differ"),
    ((2, 3), (2,), "matmul: (2, 3) @ (2,): inner dimensions 3 and 2 differ"),
    ((2, 3, 4), (5, 4, 2), "matmul: (2, 3, 4) @ (5, 4, 2): batch dimensions (2,) and (5,) "
                           "do not broadcast"),
])
def test_matmul_names_the_dimensions_at_fault(a: tuple, b: tuple, message: str) -> None:
    raises(ValueError, message, lambda: leaf(*a) @ leaf(*b))


def test_matmul_of_a_scalar_says_to_use_mul() -> None:
    raises(ValueError, "matmul: (3,) @ (): operands must have at least one dimension "
                       "(use * for scalars)", lambda: leaf(3) @ 2.0)


# ----- unsupported operand types ----------------------------------------------------------------
@pytest.mark.parametrize(("call", "op", "type_name"), [
    (lambda t: t + "a", "add", "str"),
    (lambda t: "a" + t, "add", "str"),
    (lambda t: t + object(), "add", "object"),
    (lambda t: t * None, "mul", "NoneType"),
    (lambda t: t - {}, "sub", "dict"),
    (lambda t: t / "x", "div", "str"),
    (lambda t: t ** "x", "pow", "str"),
    (lambda t: t @ "x", "matmul", "str"),
    (lambda t: t @ object(), "matmul", "object"),
    (lambda t: cr.maximum(t, "x"), "maximum", "str"),
    (lambda t: cr.where(np.ones(3, bool), t, "x"), "where", "str"),
    (lambda t: cr.tensor([1, 2, 3]) + "a", "add", "str"),
])
def test_mixing_a_tensor_with_an_unsupported_type(call: Callable, op: str,
                                                  type_name: str) -> None:
    raises(TypeError, f"{op}: unsupported operand type '{type_name}'", lambda: call(leaf(3)))


# ----- backward ---------------------------------------------------------------------------------
def test_backward_on_a_non_scalar_needs_a_cotangent() -> None:
    y = leaf(2, 3) * 2
    raises(RuntimeError, "backward: gradient can be implied only for a tensor with one "
                         "element, this one has shape (2, 3)", y.backward)


def test_a_cotangent_of_the_wrong_shape() -> None:
    y = leaf(3) * 2
    raises(ValueError, "backward: cotangent of shape (2,) for a tensor of shape (3,)",
           lambda: y.backward(np.ones(2)))
    raises(ValueError, "grad: cotangent of shape (1, 3) for a tensor of shape (3,)",
           lambda: cr.grad(y, [], grad_outputs=cr.ones(1, 3)))


def test_backward_through_a_tensor_without_grad() -> None:
    raises(RuntimeError, "backward: this tensor (shape (2,)) does not require grad",
           lambda: (cr.ones(2) * 2).backward(np.ones(2)))


def test_grad_of_an_input_that_does_not_require_grad() -> None:
    x = leaf(2)
    raises(ValueError, "grad: input 1 does not require grad",
           lambda: cr.grad((x * 2).sum(), [x, cr.ones(2)]))


def test_requires_grad_on_integer_data() -> None:
    raises(TypeError, "requires_grad: only floating-point tensors can require gradients, "
                      "this one has dtype int64", lambda: cr.tensor([1, 2], requires_grad=True))
    raises(TypeError, "has dtype bool", lambda: cr.tensor([True]).requires_grad_())


def test_a_hook_returning_a_wrongly_shaped_gradient() -> None:
    x = leaf(3)

    def widen(g: np.ndarray) -> np.ndarray:
        return np.ones((2, 3))

    x.register_hook(widen)
    raises(ValueError, "hook 'widen' returned a gradient of shape (2, 3) for a tensor of "
                       "shape (3,)", (x * 2).sum().backward)


def test_a_hook_on_an_intermediate_returning_a_wrong_shape() -> None:
    h = leaf(2, 2) * 3
    h.register_hook(lambda g: g.sum())
    raises(ValueError, "returned a gradient of shape () for a tensor of shape (2, 2)",
           h.sum().backward)


def test_a_saved_tensor_changed_in_place_before_backward() -> None:
    x = leaf(3)
    h = x * 2
    y = (h * h).sum()
    with cr.no_grad():
        h += 1
    raises(RuntimeError, "was modified in place after it was saved for backward",
           y.backward)


# ----- shape and axis errors of the other primitives ---------------------------------------------
@pytest.mark.parametrize(("call", "kind", "message"), [
    (lambda t: t.reshape(4, 2), ValueError,
     "reshape: cannot reshape an array of shape (2, 3) (size 6) into shape (4, 2)"),
    (lambda t: t.broadcast_to((3, 3)), ValueError,
     "broadcast_to: cannot broadcast shape (2, 3) to (3, 3)"),
    (lambda t: t.transpose(0, 0), ValueError,
     "transpose: axes (0, 0) are not a permutation of the 2 axes of shape (2, 3)"),
    (lambda t: t.squeeze(0), ValueError, "squeeze: axis 0 of shape (2, 3) has length 2, not 1"),
    (lambda t: t.unsqueeze(5), ValueError, "unsqueeze: axis 5 is out of range"),
    (lambda t: t.flatten(1, 0), ValueError, "flatten: start_axis 1 comes after end_axis 0"),
    (lambda t: cr.swapaxes(t, 0, 5), ValueError, "swapaxes: axis2: axis 5 is out of bounds"),
    (lambda t: t.sum(axis=2), ValueError,
     "sum: axis 2 is out of bounds for array of dimension 2 (input of shape (2, 3))"),
    (lambda t: t.mean(axis=(0, 0)), ValueError, "mean: repeated axis in (0, 0)"),
    (lambda t: t.max(axis=4), ValueError, "max: axis 4 is out of bounds"),
    (lambda t: t.min(axis=-3), ValueError, "min: axis -3 is out of bounds"),
    (lambda t: t.prod(axis=2), ValueError, "prod: axis 2 is out of bounds"),
    (lambda t: t.logsumexp(axis=2), ValueError, "logsumexp: axis 2 is out of bounds"),
    (lambda t: t.softmax(axis=2), ValueError, "softmax: axis 2 is out of bounds"),
    (lambda t: t.log_softmax(axis=2), ValueError, "log_softmax: axis 2 is out of bounds"),
    (lambda t: t.var(axis=0, ddof=2), ValueError,
     "var: 2 element(s) over axis 0 with ddof=2: need more elements than ddof"),
    (lambda t: t.norm(axis=3), ValueError, "norm: axis 3 is out of bounds"),
    (lambda t: t.norm("nuc"), NotImplementedError, "norm: ord='nuc' on a matrix"),
    (lambda t: t.norm(0), ValueError, "norm: ord=0 is not a matrix norm"),
    (lambda t: t.clip(), ValueError, "clip: give a_min, a_max or both"),
    (lambda t: t[5], IndexError, "getitem: index 5 into shape (2, 3)"),
    (lambda t: cr.concatenate([t, cr.ones(3, 2)]), ValueError,
     "concatenate: shapes [(2, 3), (3, 2)] differ outside axis 0"),
    (lambda t: cr.stack([t, cr.ones(3)]), ValueError,
     "stack: arrays must have the same shape, got [(2, 3), (3,)]"),
    (lambda t: cr.split(t, 2, axis=1), ValueError,
     "split: axis 1 of length 3 does not divide into 2 equal sections"),
    (lambda t: cr.pad(t, ((1, 1), (1, 1), (1, 1))), ValueError,
     "pad: pad_width ((1, 1), (1, 1), (1, 1)) does not fit an array of shape (2, 3)"),
    (lambda t: cr.einsum("ij,jk->ik", t, cr.ones(2, 2)), ValueError,
     "einsum: 'ij,jk->ik' with shapes [(2, 3), (2, 2)]"),
    (lambda t: cr.dot(cr.ones(2, 2, 3), t), ValueError,
     "dot: shapes (2, 2, 3) and (2, 3) not aligned"),
    (lambda t: cr.diagonal(t[0]), ValueError,
     "diagonal: diag requires an array of at least two dimensions (input of shape (3,))"),
    (lambda t: t.item(), ValueError, "item: only a tensor with one element converts to a "
                                     "Python number, this one has shape (2, 3)"),
    (lambda t: cr.cross_entropy_logits(t, np.array([0, 7])), ValueError,
     "cross_entropy_logits: label 7 is outside the 3 classes 0..2"),
    (lambda t: cr.cross_entropy_logits(t, np.array([0, 1, 1])), ValueError,
     "cross_entropy_logits: logits of shape (2, 3) need (N, C) with labels of shape (N,), "
     "got labels of shape (3,)"),
    (lambda t: cr.cross_entropy_logits(t, np.array([0.0, 1.0])), TypeError,
     "cross_entropy_logits: labels must be integers, not float64"),
])
def test_shape_and_axis_errors_name_the_op(call: Callable, kind: type[Exception],
                                           message: str) -> None:
    raises(kind, message, lambda: call(leaf(2, 3)))


def test_empty_reductions() -> None:
    raises(ValueError, "mean: no elements to average over axis None of shape (0,)",
           lambda: cr.mean(leaf(0)))
    raises(ValueError, "max: empty array of shape (0,) has no maximum", lambda: cr.max(leaf(0)))


def test_ufunc_keywords_the_rules_do_not_know_are_refused_at_the_call() -> None:
    """An elementwise primitive's forward is NumPy's ufunc, which would take where= (leaving
    entries unwritten) or dtype=, none of which its derivative rules know."""
    x, mask = leaf(3), np.array([True, False, True])
    raises(TypeError, "mul: unexpected keyword argument(s) ['where']; it takes ['out']",
           lambda: cr.mul(x, 2.0, where=mask))
    raises(TypeError, "exp: unexpected keyword argument(s) ['dtype']",
           lambda: cr.exp(x, dtype=np.float32))
    raises(TypeError, "exp: unexpected keyword argument(s) ['where']",
           lambda: cr.exp(np.ones(3), where=mask))  # plain arrays too


@pytest.mark.parametrize("op", [cr.exp, cr.relu])
def test_out_into_a_users_array_is_refused_on_tensors(op: Callable) -> None:
    """A result written into an array of the user's would leave it in the graph: changing
    the array later would change the derivative without a word."""
    buf = np.empty(3)
    for x in (leaf(3), cr.tensor(np.ones(3))):
        raises(TypeError, f"{op.name}: out= is for plain arrays", lambda x=x: op(x, out=buf))
    np.testing.assert_array_equal(op(np.zeros(3), out=buf), op(np.zeros(3)))  # arrays: NumPy's
