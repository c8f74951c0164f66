"""How transforms nest, and how values go in and out of them.

Forward-mode levels come from a counter that only grows; a per-thread depth
counts the transforms evaluating their function right now. Inputs (containers
flattened by :mod:`chainrule.tree`) are turned into tensors a transform owns;
results go back in the same structure, as Tensors (nested use, Tensor inputs)
or as NumPy arrays and Python floats (top level).
"""

from __future__ import annotations

import inspect
import itertools
import threading
import weakref
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule import autograd, backend
from chainrule.batching import Batch, is_batched
from chainrule.jit.hook import state as _jit
from chainrule.ops.shape import reshape
from chainrule.tensor import Tensor, make
from chainrule.tree import (
    TreeDef,
    tree_leaves,
    tree_leaves_with_path,
    tree_map,
    tree_structure,
    tree_unflatten,
)

_levels = itertools.count(1)  # forward-mode levels: unique, increasing


class _Nesting(threading.local):
    depth = 0  # how many transforms are evaluating their function right now (per thread)
    batching = 0  # how many of them are vmaps (which differentiate nothing)


_nesting = _Nesting()
# the tensors transforms made for their inputs (by id, held weakly): a graph that reaches a
# leaf needing a gradient that is not one of them reaches a tensor of the caller's own
_OWN_INPUTS: weakref.WeakValueDictionary[int, Tensor] = weakref.WeakValueDictionary()


def _differentiating() -> bool:
    """True inside a transform that differentiates (grad, jvp, ...; not only vmaps): then a
    derivative taken here must itself be differentiable."""
    return _nesting.depth > _nesting.batching


@contextmanager
def _inside_transform():
    _nesting.depth += 1
    try:
        with autograd.enable_grad():
            yield
    finally:
        _nesting.depth -= 1


# ----- inputs and outputs ---------------------------------------------------------------
def _takes_part(x: Any) -> bool:
    """True for a Tensor that carries a derivative already (reverse or forward; a batched
    one when its examples do)."""
    if not isinstance(x, Tensor):
        return False
    fw = x._fw
    return x.requires_grad or (fw is not None and (type(fw) is not Batch or _takes_part(fw[1])))


def _any_takes_part(*trees: Any) -> bool:
    return any(_takes_part(leaf) for leaf in tree_leaves(trees))


def _returns_tensors(*values: Any) -> bool:
    """Inside another transform, given Tensors, or while ``chainrule.jit`` traces (whose
    values can't become NumPy arrays), a transform returns Tensors."""
    return _nesting.depth > 0 or _jit.active is not None or any(
        isinstance(v, Tensor) for v in tree_leaves(values))


def _labels(f: Callable, n: int) -> list[str]:
    """Names for f's first n positional arguments in messages: its parameter names where
    its signature has them (``params``), else ``args[i]``."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    named = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [named[i] if i < len(named) else f"args[{i}]" for i in range(n)]


def _same_arguments(transformed: Callable, f: Callable) -> Callable:
    """Mark ``transformed`` as taking f's arguments, so that messages about it (a Hessian,
    grad of grad) name them as f does."""
    transformed.__wrapped__ = f  # type: ignore[attr-defined]  # read by inspect.signature
    return transformed


def _float_array(x: Any, op: str, path: str) -> np.ndarray:
    """A differentiation input's raw floating-point array; any other leaf is refused."""
    if isinstance(x, str | bytes):
        raise TypeError(f"{op}: {path}: a string ({x!r}) cannot be differentiated; "
                        "differentiate with respect to floating-point arrays only")
    arr = x.data if isinstance(x, Tensor) else backend.as_array(x)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind == "c":
        raise autograd.complex_error(f"{op}: {path} has dtype {arr.dtype}")
    what = f"dtype {arr.dtype}" if arr.dtype.kind != "O" else f"a {type(x).__name__}"
    raise TypeError(f"{op}: {path}: {what} cannot be differentiated; differentiate with "
                    "respect to floating-point inputs (2.0, not 2; or x.astype(float))")


def _reverse_input(x: Any, op: str, path: str) -> Tensor:
    """A tensor of this transform's own to differentiate with respect to."""
    if _takes_part(x) or is_batched(x):  # (a batched one stays batched)
        _float_array(x, op, path)
        own = reshape(x, x.shape)  # identity-like: the inner gradient is collected here
        own.requires_grad = True  # a forward-mode input: record reverse nodes at its level
        return own
    own = make(_float_array(x, op, path), None)
    own.requires_grad = True
    _OWN_INPUTS[id(own)] = own
    return own


def _reverse_inputs(trees: Sequence[Any], labels: Sequence[str],
                    op: str) -> tuple[list[TreeDef], list[Tensor], list[Any]]:
    """Each tree's structure, the transform's own tensors for all their leaves (in order),
    and the trees rebuilt around those tensors (what f is called with)."""
    defs, own, rebuilt = [], [], []
    for tree, label in zip(trees, labels):
        td = tree_structure(tree)
        mine = [_reverse_input(x, op, path) for path, x in tree_leaves_with_path(tree, label)]
        defs.append(td)
        own += mine
        rebuilt.append(tree_unflatten(td, mine))
    return defs, own, rebuilt


def _split_by(defs: Sequence[TreeDef], leaves: Sequence[Any]) -> list[Any]:
    """``leaves`` cut into one tree per structure in ``defs``."""
    trees, start = [], 0
    for td in defs:
        trees.append(tree_unflatten(td, leaves[start:start + td.num_leaves]))
        start += td.num_leaves
    return trees


def _in_dtype(g: Any, like: Any) -> Any:
    """A derivative with respect to ``like`` in like's dtype (a float32 input gets float32
    derivatives even where a float64 constant took part), as PyTorch and JAX give them."""
    return autograd._in_dtype(g, like.dtype if hasattr(like, "dtype") else np.result_type(like))


def _export_leaf(x: Any, as_tensor: bool) -> Any:
    if not (isinstance(x, Tensor | np.ndarray | np.generic | int | float | complex)
            or backend.on_device(x)):
        return x  # strings and other objects (in aux) pass through
    if as_tensor or is_batched(x):  # (a batched value is only a Tensor, inside its vmap)
        return x if isinstance(x, Tensor) else make(backend.as_array(x), None)
    arr = x.data if isinstance(x, Tensor) else backend.as_array(x)
    if backend.on_device(arr):
        return arr  # a GPU scalar stays a 0-d array: reading it would wait for the GPU
    if arr.ndim == 0:
        return arr.item()
    return arr if arr.flags.writeable else arr.copy()


def _export(tree: Any, as_tensor: bool) -> Any:
    """A result as Tensors (nested use, or computed from a closed-over tensor that needs a
    gradient: see :func:`_closes_over`) or as NumPy arrays / Python numbers (top level), in
    the same structure."""
    as_tensor = as_tensor or _closes_over(tree)
    return tree_map(lambda x: _export_leaf(x, as_tensor), tree)


def _closes_over(tree: Any) -> bool:
    """True if a Tensor in ``tree`` was computed from a leaf that needs a gradient and is not
    a transform's own input: a tensor the function closed over (a model's parameter).
    Returned as NumPy arrays, the result would cut that tensor's gradient without a word;
    returned as Tensors (and differentiated with create_graph), it keeps it."""
    stack = [x for x in tree_leaves(tree) if isinstance(x, Tensor)]
    seen: set[int] = set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t._node
        if node is None:
            if t.requires_grad and _OWN_INPUTS.get(id(t)) is not t:
                return True
        elif node.args is not None:
            stack.extend(a for a in node.args if isinstance(a, Tensor))
    return False


def _split_aux(result: Any, has_aux: bool, op: str) -> tuple[Any, Any]:
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple | list) and len(result) == 2):
        raise TypeError(f"{op}: with has_aux=True, f must return a pair (output, aux)")
    return result[0], result[1]


def _argnums(argnums: int | Sequence[int], nargs: int, op: str) -> tuple[tuple[int, ...], bool]:
    nums: tuple[int, ...]
    if isinstance(argnums, int | np.integer):
        single, nums = True, (int(argnums),)
    else:
        single, nums = False, tuple(int(a) for a in argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{op}: argnums {argnums} out of range for {nargs} argument(s)")
    return tuple(a % nargs for a in nums), single


def _replace(args: tuple, nums: Sequence[int], values: Sequence[Any]) -> list:
    new = list(args)
    for i, v in zip(nums, values):
        new[i] = v
    return new
