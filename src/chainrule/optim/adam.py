"""Adam: adaptive moment estimation (Kingma & Ba, 2015), as ``torch.optim.Adam``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, Params


class Adam(Optimizer):
    """Adam with PyTorch's update, per parameter p with gradient g at step t = 1, 2, ...:

    .. code-block:: text

        g = g + weight_decay * p                 (L2 penalty, as torch.optim.Adam, not AdamW)
        m = m + (1 - beta1) (g - m)              (first moment: beta1 m + (1 - beta1) g)
        v = beta2 v + (1 - beta2) g^2            (second moment)
        v_hat = max(v_hat, v) if amsgrad, else v
        p = p - lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)

    The bias corrections 1 - beta^t undo the moments' start at zero; eps is
    added *after* the second-moment correction, as PyTorch does.
    ``maximize=True`` uses -g.
    """

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize})

    def _check_group(self, group: dict[str, Any]) -> None:
        for key in ("lr", "eps", "weight_decay"):
            if not group[key] >= 0:
                raise ValueError(f"Adam: {key} must be >= 0, got {group[key]}")
        betas = group["betas"]
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas}")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (grad - m)
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = group["lr"] / (1 - beta1 ** t)
        denom = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + group["eps"]
        param -= step_size * (m / denom)
