"""The NumPy- and PyTorch-named methods of :class:`~chainrule.tensor.Tensor`.

``t.exp()``, ``t.sum(axis=0)``, ``t.reshape(2, 3)``, ``t.T``: each is one call
to the chainrule function of the same name, so a method differentiates
exactly as the function does and nothing here computes a derivative.
:class:`TensorMethods` is a mixin that ``Tensor`` inherits; the operators
(``a + b``, ``a[i]``) stay in ``tensor.py``, beside the data they act on.

Where NumPy and PyTorch disagree, NumPy's meaning wins (the namespace is
NumPy's): ``t.repeat(2)`` repeats each element (PyTorch's ``repeat`` is
``tile``), ``t.sort()`` sorts in place and returns None (so it is refused on a
tensor that needs a gradient: ``np.sort(t)`` and ``chainrule.sort(t)`` return a
sorted copy).

``chainrule.ops`` imports ``Tensor``, so this module can't import it at load
time: :data:`_ops` is bound by ``chainrule.tensor`` once that has loaded, and
every method looks its primitive up there when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import backend as _backend
from chainrule import cutlog as _cutlog

if TYPE_CHECKING:
    from chainrule.tensor import Tensor

_ops: Any = None  # chainrule.ops, bound at the end of chainrule/tensor.py
_make: Any = None  # chainrule.tensor.make, bound there too


class TensorMethods:
    """Thin methods: each calls the chainrule function it is named after."""

    __slots__ = ()
    _data: np.ndarray
    _fw: Any
    requires_grad: bool

    if TYPE_CHECKING:
        def __setitem__(self, index: Any, value: Any) -> None: ...  # Tensor's (tensor.py)

    @property
    def T(self) -> Tensor:  # noqa: N802  (NumPy's and PyTorch's name)
        return _ops.transpose(self)

    @property
    def mT(self) -> Tensor:  # noqa: N802
        """The matrix transpose: the last two axes swapped."""
        return _ops.swapaxes(self, -1, -2)

    def astype(self, dtype: Any) -> Tensor:
        """A copy converted to ``dtype``. A cast to a non-float dtype (int, bool) is not
        differentiable: its result is a new leaf, cut from the graph."""
        dtype = np.dtype(dtype)
        if dtype.kind not in "fc":
            out = _make(self._data.astype(dtype), None)
            if self.requires_grad:
                _cutlog.cut(f"astype({dtype})", (self,), out)
            return out
        return _ops.astype(self, dtype)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    # ----- devices and DLPack ---------------------------------------------
    @property
    def device(self) -> str:
        """Where the data lives: ``"cpu"`` (a NumPy array) or ``"cuda:N"`` (CuPy)."""
        return _backend.device_of(self._data)

    def to(self, device: str) -> Tensor:
        """This tensor on ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"``): itself when it is
        there already, else a differentiable copy (its gradient flows back here)."""
        from chainrule.transfer import to_device

        kind, index = _backend.parse_device(device)
        here = self.device
        if here == device or (index is None and here.partition(":")[0] == kind):
            return self  # type: ignore[return-value]
        return to_device(self, device)

    def cpu(self) -> Tensor:
        """This tensor on the host (a NumPy array): ``t.to("cpu")``."""
        return self.to("cpu")

    def cuda(self, index: int | None = None) -> Tensor:
        """This tensor on a GPU (a CuPy array): ``t.to("cuda")``."""
        return self.to("cuda" if index is None else f"cuda:{index}")

    def __dlpack__(self, **kwargs: Any) -> Any:
        """Hand this tensor's memory to another library (``torch.from_dlpack(t)``). The
        receiver shares the memory and sees no graph: refused for a tensor that requires
        grad, as ``np.asarray`` is (take ``t.detach()`` deliberately)."""
        if self.requires_grad or self._fw is not None:
            raise RuntimeError("__dlpack__: this tensor requires grad; the receiver would get "
                               "its values cut from the graph: pass t.detach()")
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._data.__dlpack_device__()

    # ----- elementwise -----------------------------------------------------
    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def log1p(self) -> Tensor:
        return _ops.log1p(self)

    def expm1(self) -> Tensor:
        return _ops.expm1(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def sin(self) -> Tensor:
        return _ops.sin(self)

    def cos(self) -> Tensor:
        return _ops.cos(self)

    def tan(self) -> Tensor:
        return _ops.tan(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def softplus(self) -> Tensor:
        return _ops.softplus(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def sign(self) -> Tensor:
        return _ops.sign(self)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Tensor:
        return _ops.clip(self, a_min, a_max)

    clamp = clip

    def round(self, decimals: int = 0) -> Tensor:
        """Rounded to ``decimals`` places (a step function: zero derivative)."""
        return _ops.round(self, decimals) if decimals else _ops.round(self)

    # ----- reductions ------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        return _ops.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        return _ops.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.prod(self, axis=axis, keepdims=keepdims)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.logsumexp(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1) -> Tensor:
        return _ops.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return _ops.log_softmax(self, axis=axis)

    def cumsum(self, axis: int | None = None) -> Tensor:
        return _ops.cumsum(self, axis)

    def cumprod(self, axis: int | None = None) -> Tensor:
        return _ops.cumprod(self, axis)

    def argmax(self, axis: int | None = None) -> np.ndarray:
        return self._arg("argmax", np.argmax, axis)

    def argmin(self, axis: int | None = None) -> np.ndarray:
        return self._arg("argmin", np.argmin, axis)

    def _arg(self, name: str, find: Any, axis: int | None) -> np.ndarray:
        """An index: not differentiable, logged as a cut for ``why_no_grad``."""
        out = find(self._data, axis=axis)
        if self.requires_grad:
            _cutlog.cut(name, (self,), out, depth=2)
        return out

    # ----- shape -----------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        return _ops.reshape(self, _shape_arg(shape))

    view = reshape

    def ravel(self) -> Tensor:
        """The elements as a 1-d tensor (row-major order)."""
        return _ops.reshape(self, (-1,))

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Tensor:
        return _ops.flatten(self, start_axis, end_axis)

    def transpose(self, *axes: Any) -> Tensor:
        return _ops.transpose(self, _shape_arg(axes) if axes else None)

    def permute(self, *axes: Any) -> Tensor:
        return _ops.transpose(self, _shape_arg(axes))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return _ops.swapaxes(self, axis1, axis2)

    def squeeze(self, axis: Any = None) -> Tensor:
        return _ops.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return _ops.unsqueeze(self, axis)

    def expand(self, *shape: Any) -> Tensor:
        return _ops.broadcast_to(self, _shape_arg(shape))

    def broadcast_to(self, shape: Any) -> Tensor:
        return _ops.broadcast_to(self, shape)

    def flip(self, axis: Any = None) -> Tensor:
        return _ops.flip(self, axis)

    def repeat(self, repeats: Any, axis: int | None = None) -> Tensor:
        """Each element repeated ``repeats`` times, as ``np.repeat`` (PyTorch's
        ``repeat`` is ``chainrule.tile``)."""
        return _ops.repeat(self, repeats, axis)

    def sort(self, axis: int = -1) -> None:
        """Sort in place along ``axis``, as NumPy's ``ndarray.sort`` (returns None). Refused on
        a tensor that needs a gradient: ``np.sort(t)`` / ``chainrule.sort(t)`` return a sorted,
        differentiable copy."""
        if self.requires_grad or self._fw is not None:
            raise RuntimeError(f"t.sort(): sorting in place a tensor that needs a gradient "
                               f"(shape {self._data.shape}) is not differentiable; use "
                               "np.sort(t) or chainrule.sort(t), which return a sorted copy")
        self[...] = _ops.sort(self._data, axis)

    # ----- products --------------------------------------------------------
    def dot(self, other: Any) -> Tensor:
        return _ops.dot(self, other)

    def trace(self) -> Tensor:
        return _ops.trace(self)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        return _ops.diagonal(self, offset, axis1, axis2)

    def norm(self, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.norm(self, ord=ord, axis=axis, keepdims=keepdims)


def _shape_arg(shape: tuple) -> Any:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        return tuple(shape[0])
    return tuple(shape)
