"""Function transforms, modelled on JAX: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``,
``jacfwd``, ``jacrev``, ``jacobian``, ``hessian``, ``hvp`` and ``taylor``.

Each transform takes a function of arrays and gives back a function (``jvp`` and ``vjp``
evaluate it at once). The functions may take NumPy arrays, Python floats and Tensors.

* Called at top level on arrays and floats, the transforms return NumPy arrays (a Python
  float for a 0-d result), so they compose with plain NumPy code, and record nothing that
  outlives the call.
* Called on Tensors, or inside another transform, they return Tensors that still carry
  the outer derivatives, so transforms nest: ``grad(grad(f))``, ``jacfwd(jacrev(f))``,
  ``jvp`` of ``grad``, ``grad`` of ``jvp``, to any depth.

Nesting without *perturbation confusion* (one derivative's tangent or cotangent mistaken
for another's; Siskind & Pearlmutter's classic bug):

* every ``jvp`` takes a fresh forward-mode **level** from a counter that only grows, so an
  inner ``jvp`` has a higher level than the outer one; primitives peel the highest level
  first, and ``jvp`` reads only its own level from the outputs;
* every reverse transform differentiates with respect to a tensor of its own: an input that
  already takes part in a derivative is passed through an identity-like primitive
  (``reshape`` to its own shape), the inner gradient is collected at that new node, and the
  outer derivative still sees through it. A forward-mode input gets its own
  ``requires_grad`` flag, so the reverse nodes record at its level (forward-over-reverse).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule import autograd
from chainrule.ops.indexing import stack
from chainrule.ops.shape import reshape
from chainrule.tensor import Tensor, dual, make

__all__ = [
    "JacobianChoice", "grad", "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp",
    "taylor", "value_and_grad", "vjp",
]

_levels = itertools.count(1)  # forward-mode levels: unique, increasing


class _Nesting(threading.local):
    depth = 0  # how many transforms are evaluating their function right now (per thread)


_nesting = _Nesting()


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
    """True for a Tensor that carries a derivative already (reverse or forward)."""
    return isinstance(x, Tensor) and (x.requires_grad or x._fw is not None)


def _returns_tensors(*values: Any) -> bool:
    """Inside another transform, or given Tensors, a transform returns Tensors."""
    return _nesting.depth > 0 or any(isinstance(v, Tensor) for v in values)


def _float_array(x: Any, op: str, i: int) -> np.ndarray:
    """Raw input as a floating-point array (ints and bools become float64)."""
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind in "fc":
        return arr
    if arr.dtype.kind in "biu" and not isinstance(x, Tensor):
        return arr.astype(np.float64)
    raise TypeError(f"{op}: argument {i} has dtype {arr.dtype}; differentiate with respect to "
                    "floating-point inputs (e.g. 2.0, not 2)")


def _reverse_input(x: Any, op: str, i: int) -> Tensor:
    """A tensor of this transform's own to differentiate with respect to."""
    if _takes_part(x):
        _float_array(x, op, i)
        own = reshape(x, x.shape)  # identity-like: the inner gradient is collected here
        own.requires_grad = True  # a forward-mode input: record reverse nodes at its level
        return own
    own = make(_float_array(x, op, i), None)
    own.requires_grad = True
    return own


def _export(x: Any, as_tensor: bool) -> Any:
    """A result as a Tensor (nested use) or as a NumPy array / Python number (top level)."""
    if isinstance(x, tuple | list):
        return type(x)(_export(v, as_tensor) for v in x)
    if isinstance(x, dict):
        return {k: _export(v, as_tensor) for k, v in x.items()}
    if x is None or isinstance(x, str):
        return x
    if as_tensor:
        return x if isinstance(x, Tensor) else make(np.asarray(x), None)
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.ndim == 0:
        return arr.item()
    return arr if arr.flags.writeable else arr.copy()


def _as_tuple(out: Any) -> tuple[tuple, bool]:
    if isinstance(out, tuple | list):
        return tuple(out), True
    return (out,), False


def _split_aux(result: Any, has_aux: bool, op: str) -> tuple[Any, Any]:
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple | list) and len(result) == 2):
        raise TypeError(f"{op}: with has_aux=True, f must return a pair (output, aux)")
    return result[0], result[1]


def _argnums(argnums: int | Sequence[int], nargs: int, op: str) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnums, int | np.integer)
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{op}: argnums {argnums} out of range for {nargs} argument(s)")
    return tuple(a % nargs for a in nums), single


def _replace(args: tuple, nums: Sequence[int], values: Sequence[Any]) -> list:
    new = list(args)
    for i, v in zip(nums, values):
        new[i] = v
    return new


def _gradients(outs: Sequence[Any], cotangents: Sequence[Any], inputs: Sequence[Tensor],
               create_graph: bool) -> list:
    """d <cotangents, outs> / d inputs; zeros for inputs the outputs do not reach.

    The graph is kept (it goes when its tensors do): the backward walks every node it can
    reach, and f may have used tensors whose graph belongs to the caller."""
    pairs = [(o, c) for o, c in zip(outs, cotangents)
             if c is not None and isinstance(o, Tensor) and o.requires_grad]
    found = [None] * len(inputs)
    if pairs:
        found = autograd.grad([o for o, _ in pairs], inputs, [c for _, c in pairs],
                              retain_graph=True, create_graph=create_graph, allow_unused=True)
    return [np.zeros(x.shape, x.dtype) if g is None else g for g, x in zip(found, inputs)]


# ----- reverse mode -------------------------------------------------------------------------
def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangent)`` gives, for each primal, the
    vector-Jacobian product ``cotangent^T (d f / d primal)``.

    The graph is recorded once and kept, so ``vjp_fn`` may be called many times (one
    reverse pass each). For a tuple output pass a tuple of cotangents (None counts as zero).
    With ``has_aux=True`` f returns ``(output, aux)`` and the result is
    ``(output, vjp_fn, aux)``.
    """
    as_tensor = _returns_tensors(*primals)
    nested = _nesting.depth > 0 or any(_takes_part(p) for p in primals)
    inputs = [_reverse_input(p, "vjp", i) for i, p in enumerate(primals)]
    with _inside_transform():
        out, aux = _split_aux(f(*inputs), has_aux, "vjp")
    outs, is_tuple = _as_tuple(out)

    def vjp_fn(cotangent: Any) -> tuple:
        cts, ct_tuple = _as_tuple(cotangent)
        if ct_tuple != is_tuple or len(cts) != len(outs):
            raise ValueError(f"vjp: f returned {len(outs) if is_tuple else 'one'} output(s); "
                             "give one cotangent for each, in the same structure")
        for k, (o, c) in enumerate(zip(outs, cts)):
            if c is not None and np.shape(c) != np.shape(o):
                raise ValueError(f"vjp: cotangent {k} has shape {np.shape(c)}, the output has "
                                 f"shape {np.shape(o)}")
        create = nested or _nesting.depth > 0 or any(_takes_part(c) for c in cts)
        grads = _gradients(outs, cts, inputs, create)
        return tuple(_export(g, as_tensor or create) for g in grads)

    result = (_export(out, as_tensor), vjp_fn)
    return (*result, _export(aux, as_tensor)) if has_aux else result


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable:
    """A function returning ``(f(*args), df/dargs[argnums])`` for scalar-valued ``f``.

    ``argnums`` an int gives one gradient, a tuple a tuple of them. With ``has_aux=True``
    f returns ``(value, aux)`` and the result is ``((value, aux), gradient)``, as in JAX.
    """

    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple:
        nums, single = _argnums(argnums, len(args), "grad")
        as_tensor = _returns_tensors(*args)
        create = _nesting.depth > 0 or any(_takes_part(args[i]) for i in nums)
        inputs = [_reverse_input(args[i], "grad", i) for i in nums]
        with _inside_transform():
            result = f(*_replace(args, nums, inputs), **kwargs)
        out, aux = _split_aux(result, has_aux, "grad")
        if np.size(out) != 1:
            raise ValueError(f"grad: f must return a scalar, it returned shape {np.shape(out)}; "
                             "use jacrev or jacobian for non-scalar outputs, or vjp")
        grads = _gradients([out], [np.ones(np.shape(out))], inputs, create)
        grads = _export(grads[0] if single else tuple(grads), as_tensor)
        value = _export(out, as_tensor)
        return ((value, _export(aux, as_tensor)) if has_aux else value), grads

    return value_and_grad_f


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The gradient of scalar-valued ``f`` with respect to argument(s) ``argnums``.

    ``grad(grad(f))`` and deeper nest to any order (each level differentiates the
    gradient graph that the level inside it recorded).
    """
    vg = value_and_grad(f, argnums, has_aux)

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return grad_f


# ----- forward mode -------------------------------------------------------------------------
def _unwrap(out: Any, level: int) -> tuple[Any, Any]:
    """(primal, tangent) of an output at ``level``; outputs without it have tangent 0."""
    if isinstance(out, Tensor) and out._fw is not None and out._fw[0] == level:
        return out._fw[1], out._fw[2]
    dtype = out.dtype if isinstance(out, Tensor | np.ndarray) and out.dtype.kind == "f" else None
    return out, np.zeros(np.shape(out), dtype or np.float64)


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> tuple:
    """``(f(*primals), J tangents)``: the Jacobian-vector product by one forward pass.

    ``primals`` and ``tangents`` are tuples of matching shapes (one entry per argument of
    f). Tuple outputs give tuples of values and tangents. d out = sum_i (d f / d x_i) t_i.
    """
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise TypeError("jvp: primals and tangents must be tuples, one entry per argument, "
                        "e.g. jvp(f, (x,), (v,))")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primal(s) but {len(tangents)} tangent(s)")
    as_tensor = _returns_tensors(*primals, *tangents)
    level = next(_levels)
    args = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        checked = _float_array(p, "jvp", i)
        p = p if _takes_part(p) else checked  # rules on raw arrays run at NumPy speed
        if not _takes_part(t):
            t = np.asarray(t.data if isinstance(t, Tensor) else t, dtype=p.dtype)
        if t.shape != p.shape:
            raise ValueError(f"jvp: tangent {i} has shape {t.shape}, its primal has shape "
                             f"{p.shape}")
        args.append(dual(level, p, t))
    with _inside_transform():
        out, aux = _split_aux(f(*args), has_aux, "jvp")
    outs, is_tuple = _as_tuple(out)
    pairs = [_unwrap(o, level) for o in outs]
    values = tuple(v for v, _ in pairs) if is_tuple else pairs[0][0]
    tans = tuple(t for _, t in pairs) if is_tuple else pairs[0][1]
    result = (_export(values, as_tensor), _export(tans, as_tensor))
    return (*result, _export(aux, as_tensor)) if has_aux else result


def hvp(f: Callable, x: Any, v: Any) -> Any:
    """The Hessian-vector product ``H(x) v`` of scalar ``f``, forward-over-reverse:
    ``jvp`` of ``grad(f)``, so about the cost of two gradients, the Hessian never formed."""
    return jvp(grad(f), (x,), (v,))[1]


# ----- Jacobians ---------------------------------------------------------------------------
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


# ----- Taylor coefficients --------------------------------------------------------------------
def _derivatives(f: Callable, order: int) -> Callable:
    """x -> (f(x), f'(x), ..., f^(order)(x)), from one evaluation of f on ``order`` nested
    dual numbers: the jvp of (f, ..., f^(k-1)) is (f', ..., f^(k))."""
    if order == 0:
        return lambda x: (f(x),)
    lower = _derivatives(f, order - 1)

    def all_derivatives(x: Any) -> tuple:
        values, tangents = jvp(lower, (x,), (np.ones(np.shape(x)),))
        return (*values, tangents[-1])

    return all_derivatives


def taylor(f: Callable, x0: Any, order: int) -> Any:
    """Taylor coefficients ``c_k = f^(k)(x0) / k!``, k = 0..order, of f at scalar x0, so
    that f(x0 + h) ~ sum_k c_k h^k. Shape (order + 1,) + f's output shape.

    Computed by ``order`` nested jvp's in one evaluation of f; the nested dual numbers
    hold 2^order components, so the cost grows like 2^order evaluations of f (fine to
    order ~12). For f: R^n -> R along direction v use ``taylor(lambda t: f(x + t * v), 0.,
    order)``.
    """
    if not isinstance(order, int | np.integer) or order < 0:
        raise ValueError(f"taylor: order must be a non-negative int, got {order!r}")
    if np.ndim(x0) != 0:
        raise ValueError(f"taylor: x0 must be a scalar, got shape {np.shape(x0)}; for a "
                         "vector x0 expand along a direction v: taylor(lambda t: "
                         "f(x0 + t * v), 0.0, order)")
    as_tensor = _returns_tensors(x0)
    if not isinstance(x0, Tensor):
        x0 = _float_array(x0, "taylor", 0)
    derivs = _derivatives(f, int(order))(x0)
    coeffs = [d / float(math.factorial(k)) for k, d in enumerate(derivs)]
    return _export(stack(coeffs), as_tensor)
