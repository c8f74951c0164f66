"""Reverse mode: ``vjp``, ``value_and_grad`` and ``grad``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import autograd, backend
from chainrule.functional.nesting import (
    _any_takes_part,
    _argnums,
    _closes_over,
    _differentiating,
    _export,
    _in_dtype,
    _inside_transform,
    _labels,
    _replace,
    _returns_tensors,
    _reverse_inputs,
    _same_arguments,
    _split_aux,
    _split_by,
)
from chainrule.tensor import Tensor
from chainrule.tree import tree_flatten, tree_leaves_with_path, tree_map, tree_structure


def _gradients(outs: Sequence[Any], cotangents: Sequence[Any], inputs: Sequence[Tensor],
               create_graph: bool) -> list:
    """d <cotangents, outs> / d inputs, each in its input's dtype; zeros for inputs the
    outputs do not reach.

    The graph is kept (it goes when its tensors do): the backward walks every node it can
    reach, and f may have used tensors whose graph belongs to the caller."""
    pairs = [(o, c) for o, c in zip(outs, cotangents)
             if c is not None and isinstance(o, Tensor) and o.requires_grad]
    found: Sequence[Any] = [None] * len(inputs)
    if pairs:
        found = autograd.grad([o for o, _ in pairs], inputs, [c for _, c in pairs],
                              retain_graph=True, create_graph=create_graph, allow_unused=True)
    return [backend.zeros(x.shape, x.dtype, like=x) if g is None else _in_dtype(g, x)
            for g, x in zip(found, inputs)]


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangent)`` gives, for each primal, the
    vector-Jacobian product ``cotangent^T (d f / d primal)``, in the primal's structure
    (primals may be containers: see :mod:`chainrule.tree`) and its leaves' dtypes.

    The graph is recorded once and kept, so ``vjp_fn`` may be called many times (one
    reverse pass each). The cotangent has the structure of f's output (a container output
    takes a container cotangent; a None in it counts as zeros for that part). With
    ``has_aux=True`` f returns ``(output, aux)`` and the result is
    ``(output, vjp_fn, aux)``.
    """
    as_tensor = _returns_tensors(*primals)
    nested = _differentiating() or _any_takes_part(*primals)
    # the inputs as copies: vjp_fn runs later, and the caller may change an array by then
    primals = tuple(tree_map(lambda x: x.copy() if backend.is_array(x) else x, p)
                    for p in primals)
    defs, inputs, args = _reverse_inputs(primals, _labels(f, len(primals)), "vjp")
    with _inside_transform():
        out, aux = _split_aux(f(*args), has_aux, "vjp")
    nested = nested or (not as_tensor and _closes_over(out))  # a closed-over parameter
    outs, out_def = tree_flatten(out)

    def vjp_fn(cotangent: Any) -> tuple:
        try:
            cts = out_def.flatten_up_to(cotangent)
        except ValueError:
            raise ValueError(f"vjp: the cotangent has structure {tree_structure(cotangent)}, "
                             f"f's output has structure {out_def}; give one cotangent per "
                             "output, in the same structure") from None
        for (path, o), c in zip(tree_leaves_with_path(out, "output"), cts):
            if c is not None and np.shape(c) != np.shape(o):
                raise ValueError(f"vjp: the cotangent of {path} has shape {np.shape(c)}, the "
                                 f"output has shape {np.shape(o)}")
        create = nested or _differentiating() or _any_takes_part(*cts)
        grads = _gradients(outs, cts, inputs, create)
        return tuple(_export(_split_by(defs, grads), as_tensor or create))

    result = (_export(out, as_tensor), vjp_fn)
    return (*result, _export(aux, as_tensor)) if has_aux else result


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable:
    """A function returning ``(f(*args), df/dargs[argnums])`` for scalar-valued ``f``.

    ``argnums`` an int gives one gradient, a tuple a tuple of them. Each argument may be a
    container of arrays (:mod:`chainrule.tree`); its gradient has the same structure and
    each leaf's dtype. With ``has_aux=True`` f returns ``(value, aux)`` (aux any container)
    and the result is ``((value, aux), gradient)``, as in JAX.
    """

    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple:
        nums, single = _argnums(argnums, len(args), "grad")
        as_tensor = _returns_tensors(*args)
        create = _differentiating() or _any_takes_part(*[args[i] for i in nums])
        labels = _labels(f, len(args))
        defs, inputs, trees = _reverse_inputs([args[i] for i in nums],
                                              [labels[i] for i in nums], "grad")
        with _inside_transform():
            result = f(*_replace(args, nums, trees), **kwargs)
        out, aux = _split_aux(result, has_aux, "grad")
        create = create or (not as_tensor and _closes_over(out))  # a closed-over parameter
        out_def = tree_structure(out)
        if out_def.kind != "leaf" or np.size(out) != 1:
            what = f"shape {np.shape(out)}" if out_def.kind == "leaf" else f"a {out_def}"
            raise ValueError(f"grad: f must return a scalar, it returned {what}; "
                             "use jacrev or jacobian for non-scalar outputs, or vjp")
        seed = backend.ones(np.shape(out), like=out)
        grads = _split_by(defs, _gradients([out], [seed], inputs, create))
        grads = _export(grads[0] if single else tuple(grads), as_tensor)
        value = _export(out, as_tensor)
        return ((value, _export(aux, as_tensor)) if has_aux else value), grads

    return _same_arguments(value_and_grad_f, f)


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

    return _same_arguments(grad_f, f)
