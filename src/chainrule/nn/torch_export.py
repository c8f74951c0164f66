"""``to_torch``: a chainrule model as the equivalent PyTorch module, with the same numbers.

One converter for every place that compares with PyTorch or hands a model over to it:

* ``Linear(in, out)`` -> ``torch.nn.Linear(in, out)``: chainrule stores the weight as
  ``(in, out)`` (``y = x @ W + b``), PyTorch as ``(out, in)`` (``y = x @ W.T + b``), so the
  weight is transposed; the bias is copied as is;
* ``ReLU``, ``Tanh``, ``Sigmoid`` -> ``torch.nn.ReLU``, ``Tanh``, ``Sigmoid``;
* ``Sequential`` and ``MLP`` -> ``torch.nn.Sequential`` of the converted layers, in order.

The dtype is kept (float64 -> ``torch.float64``, float32 -> ``torch.float32``) and the
parameters are copies: training one model leaves the other as it was. Any other module
raises a ``TypeError`` naming it. :func:`torch_gradients` reads the gradients of a converted
module back in chainrule's names and layout, so the two can be compared entry by entry.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import backend
from chainrule.nn.activations import ReLU, Sigmoid, Tanh
from chainrule.nn.layers import MLP, Linear, Sequential
from chainrule.nn.module import Module

__all__ = ["to_torch", "torch_gradients"]

_ACTIVATIONS = {ReLU: "ReLU", Tanh: "Tanh", Sigmoid: "Sigmoid"}  # chainrule -> torch.nn name


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch: PyTorch is not installed (pip install torch)") from None
    return torch


def _copy(torch: Any, array: np.ndarray) -> Any:
    """A torch Parameter holding a C-contiguous copy of ``array`` (same dtype; a CuPy array
    gives a CUDA tensor, through DLPack)."""
    if backend.on_device(array):
        return torch.nn.Parameter(torch.from_dlpack(array.copy(order="C")))
    return torch.nn.Parameter(torch.from_numpy(np.array(array, order="C", copy=True)))


def to_torch(module: Module) -> Any:
    """``module`` as a ``torch.nn.Module`` computing the same function with the same
    parameters (copied; Linear weights transposed to PyTorch's ``(out, in)``)."""
    torch = _torch()
    if isinstance(module, MLP):
        return to_torch(module.layers)
    if isinstance(module, Sequential):
        return torch.nn.Sequential(*(to_torch(m) for m in module))
    if isinstance(module, Linear):
        # built on the meta device: no random initialisation, the parameters are set below
        layer = torch.nn.Linear(module.in_features, module.out_features,
                                bias=module.bias is not None, device="meta")
        layer.weight = _copy(torch, module.weight.data.T)  # (in, out) -> PyTorch's (out, in)
        if module.bias is not None:
            layer.bias = _copy(torch, module.bias.data)
        return layer
    name = _ACTIVATIONS.get(type(module))
    if name is not None:
        return getattr(torch.nn, name)()
    raise TypeError(f"to_torch: no PyTorch equivalent for {type(module).__name__}; supported: "
                    "Linear, ReLU, Tanh, Sigmoid, Sequential, MLP")


def torch_gradients(module: Module, converted: Any) -> dict[str, np.ndarray | None]:
    """The ``.grad`` of each parameter of ``converted`` (``to_torch(module)`` after a
    backward pass), named and shaped as ``module``'s parameters: Linear weight gradients
    transposed back to ``(in, out)``. None where PyTorch has no gradient."""
    torch = _torch()
    ours = [(name, m) for name, m in module.named_modules() if isinstance(m, Linear)]
    theirs = [m for m in converted.modules() if isinstance(m, torch.nn.Linear)]
    if len(ours) != len(theirs):
        raise ValueError(f"torch_gradients: {len(ours)} Linear layers in the chainrule model, "
                         f"{len(theirs)} in the PyTorch one: not its to_torch() conversion")
    grads: dict[str, np.ndarray | None] = {}
    for (name, layer), twin in zip(ours, theirs, strict=True):
        prefix = f"{name}." if name else ""
        pairs = [("weight", twin.weight, True)]
        if layer.bias is not None:
            pairs.append(("bias", twin.bias, False))
        for key, param, transposed in pairs:
            g = None if param.grad is None else param.grad.detach().numpy()
            grads[prefix + key] = g.T if transposed and g is not None else g
    return grads
