"""Layers: Linear (an affine map), Sequential (a chain) and MLP."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from chainrule import ops
from chainrule.creation import _rng
from chainrule.nn import init as _init
from chainrule.nn.activations import ACTIVATIONS, ReLU
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor


def _float_dtype(dtype: Any, op: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating-point type (float32, float64), "
                        f"got {dt}")
    return dt


class Linear(Module):
    """y = x @ W + b, with W of shape ``(in_features, out_features)`` and b of shape
    ``(out_features,)``.

    The weight is stored as (in, out), the transpose of PyTorch's (out, in),
    so the forward pass is one matmul with no transpose; its name in
    ``state_dict`` is still ``weight`` (and ``bias``). To copy it into
    ``torch.nn.Linear``, assign ``weight.T``.

    ``init`` names the scheme in :mod:`chainrule.nn.init`: ``"kaiming"``
    (default, He uniform: std sqrt(2 / in), for ReLU), ``"kaiming_normal"``,
    ``"xavier"`` (Glorot uniform, for tanh/sigmoid), ``"xavier_normal"`` or
    ``"torch"`` (PyTorch's default). The bias starts at zero, except with
    ``"torch"``. ``rng`` is a NumPy Generator or a seed; the parameters have
    ``dtype`` (float64 or float32).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "kaiming", rng: np.random.Generator | int | None = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int | np.integer) or n <= 0:
                raise ValueError(f"Linear: {name} must be a positive integer, got {n!r}")
        dt = _float_dtype(dtype, "Linear")
        gen = _rng(rng)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(_init.weight(init, (self.in_features, self.out_features), gen,
                                             dt))
        self.bias = (Parameter(_init.bias(init, self.in_features, self.out_features, gen, dt))
                     if bias else None)

    def forward(self, x: Any) -> Tensor:
        if self.bias is None:
            return ops.matmul(x, self.weight)
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, dtype={self.weight.dtype}")


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    The sub-modules are named ``0``, ``1``, ... (so parameters are named
    ``0.weight``, as in PyTorch); ``seq[i]``, ``seq[1:]``, ``len(seq)`` and
    iteration work as on a list.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def _layers(self) -> list[Module]:
        return [v for v in vars(self).values() if isinstance(v, Module)]

    def __len__(self) -> int:
        return len(self._layers())

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers())

    def __getitem__(self, index: int | slice) -> Any:
        layers = self._layers()
        if isinstance(index, slice):
            return Sequential(*layers[index])
        return layers[index]

    def forward(self, x: Any) -> Any:
        for module in self._layers():
            x = module(x)
        return x


class MLP(Module):
    """A multilayer perceptron: Linear layers of ``sizes`` with an activation between
    them (none after the last), e.g. ``MLP([784, 128, 2])`` is
    Linear(784, 128), ReLU, Linear(128, 2).

    ``activation`` is ``"relu"``, ``"tanh"``, ``"sigmoid"`` or a Module class
    (any callable returning a Module). ``init`` defaults to ``"kaiming"`` for
    ReLU and ``"xavier"`` otherwise. One generator (``rng``, a seed or a
    Generator) draws every layer in turn. The layers are ``self.layers`` (a
    Sequential), so the parameters are named ``layers.0.weight``,
    ``layers.0.bias``, ``layers.2.weight``, ...
    """

    def __init__(self, sizes: Sequence[int], activation: str | Callable[[], Module] = "relu",
                 bias: bool = True, init: str | None = None,
                 rng: np.random.Generator | int | None = None, dtype: Any = np.float64) -> None:
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes must list at least an input and an output size, "
                             f"got {sizes}")
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(f"MLP: unknown activation {activation!r}; choose one of "
                                 f"{', '.join(ACTIVATIONS)} or pass a Module class")
            activation = ACTIVATIONS[activation]
        elif isinstance(activation, Module):
            raise TypeError(f"MLP: pass the activation's class ({type(activation).__name__}), "
                            "not an instance: each layer gets its own")
        if init is None:
            init = "kaiming" if activation is ReLU else "xavier"
        gen = _rng(rng)
        self.layers = Sequential()
        for i, (n_in, n_out) in enumerate(pairwise(sizes)):
            if i:
                self.layers.append(activation())
            self.layers.append(Linear(n_in, n_out, bias=bias, init=init, rng=gen, dtype=dtype))

    def forward(self, x: Any) -> Tensor:
        return self.layers(x)
