"""Jacobians by forward mode (a column per pass), reverse mode (a row per pass), or
whichever needs fewer passes; and the Hessian as forward-over-reverse."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.functional.forward import jvp
from chainrule.functional.nesting import _argnums, _as_tuple, _export, _replace, _returns_tensors
from chainrule.functional.reverse import vjp
from chainrule.ops.indexing import stack
from chainrule.ops.shape import reshape
from chainrule.tensor import Tensor


def _basis(x: Any) -> list[np.ndarray]:
    """The unit vectors of x's input space, each shaped like x."""
    dtype = x.dtype if isinstance(x, Tensor | np.ndarray) and x.dtype.kind == "f" else np.float64
    eye = np.eye(int(np.size(x)), dtype=dtype)
    return [row.reshape(np.shape(x)) for row in eye]


def _assemble(pieces: list, shape: tuple[int, ...], axis: int) -> Any:
    """Stack per-direction results (along the input axis for jacfwd, the output axis for
    jacrev) and reshape to ``shape`` = out.shape + in.shape."""
    if not pieces:
        return np.zeros(shape)
    return reshape(stack(pieces, axis=axis), shape)


def _jacfwd_blocks(f: Callable, args: tuple, nums: Sequence[int]) -> tuple[list, tuple, bool]:
    """Jacobian blocks ``[output k][argnum a]``, one jvp per input direction; also the
    outputs' tangents of one pass (for their shapes) and whether f returns a tuple."""
    per_arg = []
    for i in nums:
        def f_i(xi: Any, i: int = i) -> Any:
            return f(*_replace(args, (i,), (xi,)))

        x = args[i]
        directions = _basis(x) or [np.zeros(np.shape(x))]  # empty x: one pass for the shapes
        columns = [_as_tuple(jvp(f_i, (x,), (e,))[1]) for e in directions]
        outs, is_tuple = columns[0]
        if np.size(x) == 0:
            columns = []
        per_arg.append([_assemble([c[0][k] for c in columns], np.shape(o) + np.shape(x), -1)
                        for k, o in enumerate(outs)])
    return [list(b) for b in zip(*per_arg)], outs, is_tuple


def _jacrev_blocks(outs: tuple, vjp_fn: Callable, is_tuple: bool, xs: Sequence[Any]) -> list:
    """Jacobian blocks ``[output k][argnum a]``, one reverse pass per output element over
    the graph recorded once by ``vjp``."""
    blocks = []
    for k, o in enumerate(outs):
        rows = []
        for e in _basis(o):
            ct = tuple(e if j == k else None for j in range(len(outs)))
            rows.append(vjp_fn(ct if is_tuple else ct[0]))
        blocks.append([_assemble([r[a] for r in rows], np.shape(o) + np.shape(x), 0)
                       for a, x in enumerate(xs)])
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
    """The Jacobian of ``f`` with respect to argument(s) ``argnums``; shape out.shape +
    in.shape (a tuple over argnums for a tuple, a tuple over outputs for tuple outputs).

    ``mode``: "forward" (alias "fwd"), "reverse" ("rev") or "auto", which records f once
    to learn its output size m, then takes forward mode when the n inputs are fewer than
    the m outputs and reverse mode (reusing that recording) otherwise. With
    ``explain=True`` the function returns ``(jacobian, JacobianChoice)``.
    """
    if mode not in _MODES:
        raise ValueError(f"jacobian: mode {mode!r} is not one of {sorted(_MODES)}")
    mode = _MODES[mode]

    def jac(*args: Any) -> Any:
        nums, single = _argnums(argnums, len(args), "jacobian")
        n_in = sum(int(np.size(args[i])) for i in nums)
        recorded = None
        if mode != "forward":
            out, vjp_fn = vjp(lambda *xs: f(*_replace(args, nums, xs)), *[args[i] for i in nums])
            outs, is_tuple = _as_tuple(out)
            recorded = (outs, vjp_fn, is_tuple)
        if mode == "forward" or (mode == "auto" and n_in < _size(outs)):
            blocks, outs, is_tuple = _jacfwd_blocks(f, args, nums)
            choice = _choose(mode, n_in, _size(outs))
        else:
            choice = _choose(mode, n_in, _size(outs))
            blocks = _jacrev_blocks(*recorded, [args[i] for i in nums])
        per_out = [b[0] if single else tuple(b) for b in blocks]
        result = _export(tuple(per_out) if is_tuple else per_out[0], _returns_tensors(*args))
        return (result, choice) if explain else result

    return jac


def _size(outs: tuple) -> int:
    return sum(int(np.size(o)) for o in outs)


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Jacobian by forward mode: one ``jvp`` per input element (a basis direction),
    so (number of inputs) passes. Shape out.shape + in.shape, as in JAX."""
    return jacobian(f, argnums, mode="forward")


def jacrev(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Jacobian by reverse mode: f recorded once, then one reverse pass per output
    element, so (number of outputs) passes. Shape out.shape + in.shape, as in JAX."""
    return jacobian(f, argnums, mode="reverse")


def hessian(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Hessian of scalar ``f``, forward-over-reverse: ``jacfwd(jacrev(f))``.
    Shape in.shape + in.shape (nested tuples for a tuple of argnums)."""
    return jacfwd(jacrev(f, argnums), argnums)
