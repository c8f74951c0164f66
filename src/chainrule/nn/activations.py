"""Activation functions as modules (no parameters): ReLU, Tanh, Sigmoid."""

from __future__ import annotations

from typing import Any

from chainrule import ops
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.relu(x)


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise (stable for any x)."""

    def forward(self, x: Any) -> Tensor:
        return ops.sigmoid(x)


ACTIVATIONS: dict[str, type[Module]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
