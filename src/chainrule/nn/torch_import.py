"""``from_torch``: a PyTorch module back as the equivalent chainrule model, the inverse of
:func:`~chainrule.nn.torch_export.to_torch`.

* ``torch.nn.Linear(in, out)`` -> ``Linear(in, out)``: PyTorch stores the weight as
  ``(out, in)``, chainrule as ``(in, out)``, so it is transposed back; the bias is copied;
* ``torch.nn.ReLU``, ``Tanh``, ``Sigmoid`` -> ``ReLU``, ``Tanh``, ``Sigmoid``;
* ``torch.nn.Sequential`` -> ``Sequential`` of the converted layers, in order.

The parameters are copies in the same dtype, on the same device: a CPU tensor becomes a
NumPy array, a CUDA tensor a CuPy array (read through DLPack, then copied). Any other
module raises a ``TypeError`` naming it.
"""

from __future__ import annotations

from typing import Any

from chainrule.nn.layers import Linear, Sequential
from chainrule.nn.module import Module, Parameter
from chainrule.nn.torch_export import _ACTIVATIONS, _torch
from chainrule.transfer import from_dlpack

__all__ = ["from_torch"]

_FROM_TORCH = {name: cls for cls, name in _ACTIVATIONS.items()}  # torch.nn name -> chainrule


def _parameter(t: Any) -> Parameter:
    """A chainrule Parameter holding a C-contiguous copy of torch tensor ``t``."""
    return Parameter(from_dlpack(t.detach().contiguous()).data)  # Parameter() copies


def from_torch(module: Any) -> Module:
    """``module`` (a ``torch.nn.Module``) as a chainrule module computing the same function
    with copies of its parameters (Linear weights transposed to chainrule's ``(in, out)``)."""
    torch = _torch()
    if isinstance(module, torch.nn.Sequential):
        return Sequential(*(from_torch(m) for m in module))
    if isinstance(module, torch.nn.Linear):
        layer = Linear(module.in_features, module.out_features, bias=module.bias is not None,
                       rng=0, dtype=str(module.weight.dtype).removeprefix("torch."))
        layer.weight = _parameter(module.weight.T)  # PyTorch's (out, in) -> (in, out)
        if module.bias is not None:
            layer.bias = _parameter(module.bias)
        return layer
    cls = _FROM_TORCH.get(type(module).__name__)
    if cls is not None and isinstance(module, getattr(torch.nn, type(module).__name__)):
        return cls()
    raise TypeError(f"from_torch: no chainrule equivalent for {type(module).__name__}; "
                    f"supported: Linear, ReLU, Tanh, Sigmoid, Sequential")
