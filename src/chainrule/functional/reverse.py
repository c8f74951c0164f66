"""Reverse mode: ``vjp``, ``value_and_grad`` and ``grad``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import autograd
from chainrule.functional.nesting import (
    _argnums,
    _as_tuple,
    _export,
    _inside_transform,
    _nesting,
    _replace,
    _returns_tensors,
    _reverse_input,
    _split_aux,
    _takes_part,
)
from chainrule.tensor import Tensor


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


def grad(f: Callable | Any, *args: Any, **kwargs: Any) -> Any:
    """The gradient, in two forms told apart by the first argument.

    * ``grad(f, argnums=0, has_aux=False)`` with a function ``f`` (as in JAX):
      returns a function computing the gradient of scalar-valued ``f`` with
      respect to argument(s) ``argnums``. ``grad(grad(f))`` and deeper nest to
      any order (each level differentiates the gradient graph that the level
      inside it recorded).
    * ``grad(outputs, inputs, grad_outputs=None, retain_graph=None,
      create_graph=False, allow_unused=False)`` with Tensors (as
      ``torch.autograd.grad``): returns the tuple of gradients, touching no
      ``.grad``. See :func:`chainrule.autograd.grad`.
    """
    if not callable(f):
        return autograd.grad(f, *args, **kwargs)
    return _grad_of(f, *args, **kwargs)


def _grad_of(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    vg = value_and_grad(f, argnums, has_aux)

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return grad_f
