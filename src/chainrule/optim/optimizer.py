"""Optimizer: the base of SGD, Adam and friends.

An optimizer holds *parameter groups* (as in PyTorch): a list of dicts, each
with its ``params`` and its own hyperparameters (defaults filled in). A
subclass defines :meth:`Optimizer._update`, which changes one parameter's
array in place from its gradient; :meth:`Optimizer.step` calls it for every
parameter that has a gradient. Updates act on the raw NumPy arrays, under
``no_grad()``: they record no graph and keep the parameter's dtype. Each
update bumps the parameter's version counter, so a graph recorded before the
step refuses to run backward through the changed values.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.autograd import enable_grad, no_grad
from chainrule.tensor import Tensor

Params = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: param groups, per-parameter state, ``step``, ``zero_grad``, state dicts.

    ``params`` is an iterable of Tensors (e.g. ``model.parameters()``) or of
    dicts ``{"params": [...], "lr": ...}`` giving groups their own settings.
    ``state`` maps ``id(param)`` to that parameter's state (NumPy arrays and
    numbers).
    """

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        groups: list[Any] = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters; settings it lacks come from the defaults."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a parameter group is a dict with a 'params' list")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) is not a leaf; "
                                 "optimize the tensors you created, not results computed "
                                 "from them")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: parameter {i} has dtype {p.dtype}; only "
                                "floating-point tensors can be optimized")
            if id(p) in taken:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) appears twice")
            taken.add(id(p))
        full = {**self.defaults, **group, "params": params}
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's settings (subclasses raise ValueError on bad values)."""

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        """Change ``param`` in place from ``grad``; ``state`` persists between steps."""
        raise NotImplementedError(f"{type(self).__name__}: define _update() or step()")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. ``closure``, if given,
        recomputes the loss (and gradients) first; its result is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if isinstance(g, Tensor):
                        g = g.data
                    self._update(p.data, g, self.state.setdefault(id(p), {}), group)
                    p._version += 1
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``.grad = None`` (default), or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                elif isinstance(p.grad, Tensor) or not getattr(p.grad.flags, "writeable", True):
                    p.grad = backend.zeros(p.shape, p.dtype, like=p)  # not the user's to change
                else:
                    p.grad[...] = 0

    # ----- state dicts ------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain data: ``{"state": {index: {name: array or number}}, "param_groups":
        [{settings..., "params": [index, ...]}]}``, parameters numbered in group
        order (as PyTorch). Arrays are copies."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            settings = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            groups.append({**settings, "params": ids})
        state = {index[key]: {k: v.copy() if backend.is_array(v) else v
                              for k, v in s.items()}
                 for key, s in self.state.items() if key in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore settings and state saved by :meth:`state_dict` from an optimizer over
        parameters of the same shapes, in the same order."""
        name = type(self).__name__
        groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in groups]
        if sizes != saved_sizes:
            raise ValueError(f"{name}.load_state_dict: the saved groups hold {saved_sizes} "
                             f"parameters, this optimizer's hold {sizes}")
        params = [p for g in self.param_groups for p in g["params"]]
        by_index = {i: p for g, saved in zip(self.param_groups, groups, strict=True)
                    for i, p in zip(saved["params"], g["params"], strict=True)}
        new_state: dict[int, dict[str, Any]] = {}
        for i, s in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, which no "
                                 f"group lists (there are {len(params)})")
            new_state[id(p)] = {k: self._restore(v, p, k) for k, v in s.items()}
        for group, saved in zip(self.param_groups, groups, strict=True):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
        self.state = new_state

    def _restore(self, value: Any, p: Tensor, key: str) -> Any:
        if not backend.is_array(value):
            return value
        if value.shape != p.shape:
            raise ValueError(f"{type(self).__name__}.load_state_dict: '{key}' of shape "
                             f"{value.shape} for a parameter of shape {p.shape}")
        if backend.device_of(value) != p.device:  # saved on another device: moved to p's
            value = backend.to_device(value, p.device)
        return value.astype(p.dtype, copy=True)
