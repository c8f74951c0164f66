"""Moving data between devices and libraries: ``t.to("cuda")``, ``t.cpu()``, DLPack.

A copy between the host and a GPU is a primitive like any other, so a tensor moved to a
device stays differentiable: the cotangent goes back the way the value came,

    y = to_device(x, d)        dy = to_device(dx, d)        x_bar = to_device(y_bar, device(x))

DLPack hands an array to another library (PyTorch, JAX, CuPy, NumPy) without a copy where
the devices allow: :func:`from_dlpack` wraps whatever such a library gives, and
``Tensor.__dlpack__`` lets ``torch.from_dlpack(t)`` / ``jax.numpy.from_dlpack(t)`` take a
chainrule tensor's memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import backend
from chainrule.primitive import primitive
from chainrule.tensor import Tensor, make


@primitive
def to_device(x: Any, device: str) -> Any:
    """``x`` copied to ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``); ``x`` itself when
    it is there already."""
    return backend.to_device(x, device)


to_device.defvjp(lambda g, ans, x, device: to_device(g, backend.device_of(x)))  # back home
to_device.defjvp(lambda t, ans, x, device: to_device(t, device))


def from_dlpack(x: Any, requires_grad: bool = False) -> Tensor:
    """A tensor sharing the memory of ``x``, any object with ``__dlpack__`` (a PyTorch or
    JAX tensor, a CuPy or NumPy array): host memory becomes a NumPy array, CUDA memory a
    CuPy array (CuPy needed). No copy is made; a change through either is seen by both."""
    if not hasattr(x, "__dlpack__"):
        raise TypeError(f"from_dlpack: {type(x).__name__} does not support DLPack "
                        "(it has no __dlpack__)")
    kind = x.__dlpack_device__()[0]
    if kind == 1:  # kDLCPU
        data = np.from_dlpack(x)
    elif kind in (2, 3):  # kDLCUDA, kDLCUDAHost
        data = backend.device_module("cuda").from_dlpack(x)
    else:
        raise ValueError(f"from_dlpack: DLPack device type {kind} is neither the CPU (1) nor "
                         "CUDA (2); chainrule runs on NumPy and CuPy arrays")
    t = make(data, None)
    if requires_grad:
        t.requires_grad_()
    return t
