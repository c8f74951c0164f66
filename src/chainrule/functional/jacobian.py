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
from chainrule.ops.indexing import stack
from chainrule.ops.shape import reshape
from chainrule.tree import TreeDef, tree_flatten, tree_leaves_with_path, tree_unflatten


def _float_dtype(x: Any) -> np.dtype:
    return x.dtype if hasattr(x, "dtype") and x.dtype.kind == "f" \
        else np.dtype(np.float64)


def _basis(x: Any) -> list[np.ndarray]:
    """The unit vectors of x's input space, each shaped like x."""
    eye = backend.eye(int(np.size(x)), _float_dtype(x), like=x)
    return [row.reshape(np.shape(x)) for row in eye]


def _assemble(pieces: list, shape: tuple[int, ...], axis: int, like: Any) -> Any:
    """Stack per-direction results (along the input axis for jacfwd, the output axis for
    jacrev), reshape to ``shape`` = out.shape + in.shape, in the dtype of input ``like``."""
    if not pieces:
        return backend.zeros(shape, _float_dtype(like), like=like)
    return _in_dtype(reshape(stack(pieces, axis=axis), shape), like)


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


def _jacfwd_blocks(flat: _Flat, xs: list) -> tuple[list[list], tuple]:
    """Jacobian blocks ``[output leaf k][input leaf j]``, one jvp per input direction; and
    the output leaves of one pass."""
    per_input, outs = [], None
    for j, x in enumerate(xs):
        def f_j(xj: Any, j: int = j) -> tuple:
            return flat(*xs[:j], xj, *xs[j + 1:])

        # an empty x: one pass for the shapes
        directions = _basis(x) or [backend.zeros(np.shape(x), like=x)]
        passes = [jvp(f_j, (x,), (e,)) for e in directions]
        outs = passes[0][0]
        columns = [] if np.size(x) == 0 else [t for _, t in passes]
        per_input.append([_assemble([c[k] for c in columns], np.shape(o) + np.shape(x), -1, x)
                          for k, o in enumerate(outs)])
    if outs is None:  # no input leaves: f evaluated once for its output's structure
        outs = flat()
        return [[] for _ in outs], outs
    return [list(b) for b in zip(*per_input)], outs


def _jacrev_blocks(outs: tuple, vjp_fn: Callable, xs: Sequence[Any]) -> list[list]:
    """Jacobian blocks ``[output leaf k][input leaf j]``, one reverse pass per output
    element over the graph recorded once by ``vjp``."""
    blocks = []
    for k, o in enumerate(outs):
        rows = [vjp_fn(tuple(e if i == k else None for i in range(len(outs))))
                for e in _basis(o)]
        blocks.append([_assemble([r[j] for r in rows], np.shape(o) + np.shape(x), 0, x)
                       for j, x in enumerate(xs)])
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
             explain: bool = False) -> Callable:
    """The Jacobian of ``f`` with respect to argument(s) ``argnums``.

    Each block has shape out.shape + in.shape and the input leaf's dtype (whatever the
    mode). Arguments and outputs may be containers (:mod:`chainrule.tree`), nested as in
    JAX: the output's structure outside, the input's inside (a tuple over argnums for a
    tuple ``argnums``), so ``jacobian(f)(params)["loss"]["W"]`` is d loss / d W.

    ``mode``: "forward" (alias "fwd"), "reverse" ("rev") or "auto", which records f once
    to learn its output size m, then takes forward mode when the n inputs are fewer than
    the m outputs and reverse mode (reusing that recording) otherwise. With
    ``explain=True`` the function returns ``(jacobian, JacobianChoice)``.
    """
    return _jacobian(f, argnums, mode, explain, "jacobian")


def _jacobian(f: Callable, argnums: int | Sequence[int], mode: str, explain: bool,
              op: str) -> Callable:
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
            blocks, outs = _jacfwd_blocks(flat, xs)
        else:
            blocks = _jacrev_blocks(outs, vjp_fn, xs)
        choice = _choose(mode, n_in, _size(outs))
        per_out: list[Any] = [_split_by(in_def.children, b) for b in blocks]
        per_out = [trees[0] if single else tuple(trees) for trees in per_out]
        # flat.out_def: set (not None) by the calls of flat above
        result = _export(tree_unflatten(flat.out_def, per_out), _returns_tensors(*args))  # type: ignore[arg-type]
        return (result, choice) if explain else result

    return _same_arguments(jac, f)


def _size(outs: Sequence[Any]) -> int:
    return sum(int(np.size(o)) for o in outs)


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Jacobian by forward mode: one ``jvp`` per input element (a basis direction),
    so (number of inputs) passes. Shape out.shape + in.shape, as in JAX."""
    return _jacobian(f, argnums, "forward", False, "jacfwd")


def jacrev(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Jacobian by reverse mode: f recorded once, then one reverse pass per output
    element, so (number of outputs) passes. Shape out.shape + in.shape, as in JAX."""
    return _jacobian(f, argnums, "reverse", False, "jacrev")


def hessian(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Hessian of scalar ``f``, forward-over-reverse: ``jacfwd(jacrev(f))``.
    Shape in.shape + in.shape (nested tuples for a tuple of argnums); for a container
    argument nested as in JAX: ``hessian(f)(p)["a"]["b"]`` has shape a.shape + b.shape."""
    return _jacobian(_jacobian(f, argnums, "reverse", False, "hessian"), argnums, "forward",
                     False, "hessian")
