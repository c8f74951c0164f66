"""Jacobians by forward mode (a column per pass), reverse mode (a row per pass), or
whichever needs fewer passes; and the Hessian as forward-over-reverse."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.functional.forward import jvp
from chainrule.functional.nesting import (
    _argnums,
    _export,
    _float_array,
    _in_dtype,
    _labels,
    _replace,
    _returns_tensors,
    _same_arguments,
    _split_by,
)
from chainrule.functional.reverse import vjp
from chainrule.functional.vmap import vmap
from chainrule.ops.indexing import concatenate, stack
from chainrule.ops.shape import reshape
from chainrule.tree import (
    TreeDef,
    tree_broadcast_prefix,
    tree_flatten,
    tree_leaves_with_path,
    tree_unflatten,
)


def _float_dtype(x: Any) -> np.dtype:
    return x.dtype if hasattr(x, "dtype") and x.dtype.kind == "f" \
        else np.dtype(np.float64)


def _basis(like: Any, dtype_of: Any) -> np.ndarray:
    """The unit vectors of the space of ``like``, stacked: shape (size,) + like.shape, in
    the float dtype of ``dtype_of``."""
    n = int(np.size(like))
    return backend.eye(n, _float_dtype(dtype_of), like=like).reshape((n, *np.shape(like)))


_FEW = 2  # this many passes or fewer run one by one: batching them would save nothing


def _chunked(fn: Callable, basis: np.ndarray, chunk_size: int | None, out_axes: Any) -> Any:
    """``vmap(fn, out_axes=out_axes)(basis)``, in chunks of ``chunk_size`` basis vectors (all
    at once for None) joined along the mapped axis: the memory of one chunk at a time. A
    basis of one or two vectors runs as plain passes (stacked the same way)."""
    if len(basis) <= _FEW:
        return _joined([fn(e) for e in basis], out_axes, stack)
    if chunk_size is None or chunk_size >= len(basis):
        return vmap(fn, out_axes=out_axes)(basis)
    return _joined([vmap(fn, out_axes=out_axes)(basis[i:i + chunk_size])
                    for i in range(0, len(basis), chunk_size)], out_axes, concatenate)


def _joined(parts: list, out_axes: Any, join: Callable) -> Any:
    """The parts' leaves joined (stacked or concatenated) along their ``out_axes`` axis; a
    leaf with axis None is the same in every part and taken from the first."""
    flat = [tree_flatten(p)[0] for p in parts]
    out_def = tree_flatten(parts[0])[1]
    axes = tree_broadcast_prefix(out_axes, parts[0])
    return tree_unflatten(out_def, [flat[0][k] if a is None else join([f[k] for f in flat],
                                                                      axis=a)
                                    for k, a in enumerate(axes)])


def _assemble(block: Any, shape: tuple[int, ...], like: Any) -> Any:
    """One Jacobian block, the mapped axis already where ``shape`` = out.shape + in.shape
    wants it, reshaped, in the dtype of input ``like``."""
    if np.size(block) == 0:
        return backend.zeros(shape, _float_dtype(like), like=like)
    return _in_dtype(reshape(block, shape), like)


class _Flat:
    """f as a function of the leaves of its differentiated arguments, returning the tuple
    of its output's leaves; ``out_def`` is the output's structure from the last call."""

    def __init__(self, f: Callable, args: tuple, nums: Sequence[int], in_def: TreeDef) -> None:
        self.f, self.args, self.nums, self.in_def = f, args, nums, in_def
        self.out_def: TreeDef | None = None

    def __call__(self, *leaves: Any) -> tuple:
        trees = tree_unflatten(self.in_def, leaves)
        outs, self.out_def = tree_flatten(self.f(*_replace(self.args, self.nums, trees)))
        return tuple(outs)


def _jacfwd_blocks(flat: _Flat, xs: list, chunk_size: int | None) -> tuple[list[list], tuple]:
    """Jacobian blocks ``[output leaf k][input leaf j]``: per input leaf, the jvps of all its
    basis directions in one vmapped pass (the columns land on the last axis); and the output
    leaves."""
    per_input, outs = [], None
    for j, x in enumerate(xs):
        def f_j(xj: Any, j: int = j) -> tuple:
            return flat(*xs[:j], xj, *xs[j + 1:])

        if np.size(x) == 0:  # no directions: one pass for the output's shapes
            outs = jvp(f_j, (x,), (backend.zeros(np.shape(x), like=x),))[0]
            columns = [np.zeros((*np.shape(o), 0)) for o in outs]
        else:
            outs, columns = _chunked(lambda e, f_j=f_j, x=x: jvp(f_j, (x,), (e,)),
                                     _basis(x, x), chunk_size, (None, -1))
        per_input.append([_assemble(c, np.shape(o) + np.shape(x), x)
                          for c, o in zip(columns, outs)])
    if outs is None:  # no input leaves: f evaluated once for its output's structure
        outs = flat()
        return [[] for _ in outs], outs
    return [list(b) for b in zip(*per_input)], outs


def _jacrev_blocks(outs: tuple, vjp_fn: Callable, xs: Sequence[Any],
                   chunk_size: int | None) -> list[list]:
    """Jacobian blocks ``[output leaf k][input leaf j]``: per output leaf, the reverse passes
    of all its elements (over the graph recorded once by ``vjp``) as one vmapped pass (the
    rows land on the first axis)."""
    blocks = []
    for k, o in enumerate(outs):
        def row(e: Any, k: int = k) -> tuple:
            return vjp_fn(tuple(e if i == k else None for i in range(len(outs))))

        if np.size(o) == 0:
            rows = [np.zeros((0, *np.shape(x))) for x in xs]
        else:
            rows = _chunked(row, _basis(o, o), chunk_size, 0)
        blocks.append([_assemble(r, np.shape(o) + np.shape(x), x) for r, x in zip(rows, xs)])
    return blocks


@dataclass(frozen=True)
class JacobianChoice:
    """Which mode ``jacobian`` used for an n-input, m-output function, and why.

    Forward mode builds the Jacobian a column at a time (n jvp passes), reverse mode a
    row at a time (m vjp passes over one recorded graph); each pass costs a small multiple
    of one evaluation of f, so the cheaper mode is the one with fewer passes.
    """

    mode: str  # "forward" or "reverse"
    n_inputs: int
    n_outputs: int
    reason: str

    @property
    def passes(self) -> int:
        return self.n_inputs if self.mode == "forward" else self.n_outputs

    def __str__(self) -> str:
        return self.reason


_MODES = {"auto": "auto", "forward": "forward", "fwd": "forward", "reverse": "reverse",
          "rev": "reverse"}


def _choose(mode: str, n_in: int, n_out: int) -> JacobianChoice:
    passes = f"{n_in} jvp pass(es) forward vs {n_out} vjp pass(es) reverse"
    if mode != "auto":
        return JacobianChoice(mode, n_in, n_out, f"{mode} mode, as requested ({passes})")
    if n_in < n_out:
        return JacobianChoice("forward", n_in, n_out,
                              f"forward mode: fewer inputs than outputs ({passes})")
    return JacobianChoice("reverse", n_in, n_out,
                          f"reverse mode: no more inputs than outputs ({passes})")


def jacobian(f: Callable, argnums: int | Sequence[int] = 0, mode: str = "auto",
             explain: bool = False, chunk_size: int | None = None) -> Callable:
    """The Jacobian of ``f`` with respect to argument(s) ``argnums``.

    Each block has shape out.shape + in.shape and the input leaf's dtype (whatever the
    mode). Arguments and outputs may be containers (:mod:`chainrule.tree`), nested as in
    JAX: the output's structure outside, the input's inside (a tuple over argnums for a
    tuple ``argnums``), so ``jacobian(f)(params)["loss"]["W"]`` is d loss / d W.

    ``mode``: "forward" (alias "fwd"), "reverse" ("rev") or "auto", which records f once
    to learn its output size m, then takes forward mode when the n inputs are fewer than
    the m outputs and reverse mode (reusing that recording) otherwise. Either way the passes
    (basis vectors) run as one vmapped pass, ``chunk_size`` of them at a time if given. With
    ``explain=True`` the function returns ``(jacobian, JacobianChoice)``.
    """
    return _jacobian(f, argnums, mode, explain, "jacobian", chunk_size)


def _jacobian(f: Callable, argnums: int | Sequence[int], mode: str, explain: bool,
              op: str, chunk_size: int | None = None) -> Callable:
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"{op}: chunk_size must be a positive int or None, got {chunk_size!r}")
    if mode not in _MODES:
        raise ValueError(f"{op}: mode {mode!r} is not one of {sorted(_MODES)}")
    mode = _MODES[mode]

    def jac(*args: Any) -> Any:
        nums, single = _argnums(argnums, len(args), op)
        labels = _labels(f, len(args))
        chosen = tuple(args[i] for i in nums)
        xs, in_def = tree_flatten(chosen)
        for i in nums:
            for path, x in tree_leaves_with_path(args[i], labels[i]):
                _float_array(x, op, path)
        flat = _Flat(f, args, nums, in_def)
        n_in = sum(int(np.size(x)) for x in xs)
        if mode != "forward":
            outs, vjp_fn = vjp(flat, *xs)
        if mode == "forward" or (mode == "auto" and n_in < _size(outs)):
            blocks, outs = _jacfwd_blocks(flat, xs, chunk_size)
        else:
            blocks = _jacrev_blocks(outs, vjp_fn, xs, chunk_size)
        choice = _choose(mode, n_in, _size(outs))
        per_out: list[Any] = [_split_by(in_def.children, b) for b in blocks]
        per_out = [trees[0] if single else tuple(trees) for trees in per_out]
        # flat.out_def: set (not None) by the calls of flat above
        result = _export(tree_unflatten(flat.out_def, per_out), _returns_tensors(*args))  # type: ignore[arg-type]
        return (result, choice) if explain else result

    return _same_arguments(jac, f)


def _size(outs: Sequence[Any]) -> int:
    return sum(int(np.size(o)) for o in outs)


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0,
           chunk_size: int | None = None) -> Callable:
    """The Jacobian by forward mode: a ``jvp`` per input element (a basis direction), all of
    them one vmapped pass (``chunk_size`` directions at a time to bound memory, as
    ``torch.func``). Shape out.shape + in.shape, as in JAX."""
    return _jacobian(f, argnums, "forward", False, "jacfwd", chunk_size)


def jacrev(f: Callable, argnums: int | Sequence[int] = 0,
           chunk_size: int | None = None) -> Callable:
    """The Jacobian by reverse mode: f recorded once, then a reverse pass per output element,
    all of them one vmapped pass over the recording (``chunk_size`` rows at a time to bound
    memory). Shape out.shape + in.shape, as in JAX."""
    return _jacobian(f, argnums, "reverse", False, "jacrev", chunk_size)


def hessian(f: Callable, argnums: int | Sequence[int] = 0,
            chunk_size: int | None = None) -> Callable:
    """The Hessian of scalar ``f``, forward-over-reverse: ``jacfwd(jacrev(f))``.
    Shape in.shape + in.shape (nested tuples for a tuple of argnums); for a container
    argument nested as in JAX: ``hessian(f)(p)["a"]["b"]`` has shape a.shape + b.shape."""
    return _jacobian(_jacobian(f, argnums, "reverse", False, "hessian", chunk_size), argnums,
                     "forward", False, "hessian", chunk_size)
