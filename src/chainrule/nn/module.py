"""Module: a container of parameters and sub-modules, found through its attributes.

A module needs no registration calls. Its parameters and sub-modules are
whatever its attributes hold, looked up in attribute order and inside lists,
tuples and dicts (at any depth)::

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.blocks = [Linear(4, 8), Linear(8, 2)]    # names blocks.0.weight, ...
            self.scale = Parameter(np.ones(2))           # name scale

A parameter is a :class:`Parameter`, or any leaf Tensor that requires grad
(so ``self.w = cr.randn(3, 4, requires_grad=True)`` counts too). A Tensor
computed from parameters (not a leaf) or one that requires no grad is not a
parameter, unless it is a :class:`Parameter`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.nn.serialization import load, save
from chainrule.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module reports as a parameter; requires grad by default.

    Making one copies ``data`` (as ``Tensor(data)`` does). Operations on a
    Parameter return plain Tensors.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _is_parameter(value: Any) -> bool:
    return isinstance(value, Parameter) or (
        isinstance(value, Tensor) and value.requires_grad and value._node is None)


def _walk(name: str, value: Any) -> Iterator[tuple[str, Any]]:
    """The parameters and modules inside one attribute value, with dotted names."""
    if isinstance(value, Module) or _is_parameter(value):
        yield name, value
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _walk(f"{name}.{i}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(f"{name}.{key}", item)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Module:
    """Base class of layers and models: subclass it and define ``forward``.

    ``module(x)`` calls ``module.forward(x)``. ``training`` is True until
    ``eval()`` (layers whose behaviour differs between training and
    evaluation read it).
    """

    training: bool = True

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ----- discovery ---------------------------------------------------------
    def _members(self) -> Iterator[tuple[str, Any]]:
        """(name, value) of the parameters and modules this module holds directly."""
        for name, value in vars(self).items():
            yield from _walk(name, value)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The sub-modules held directly, with their names (``encoder``, ``blocks.0``)."""
        for name, value in self._members():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every sub-module (each once), depth first, with dotted names;
        this module's own name is ``prefix`` (empty by default)."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(_join(name, n), m) for n, m in module.named_children()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Every parameter (each once, even if shared), with dotted names such as
        ``layers.0.weight``: a module's own parameters, then its sub-modules', in
        attribute order."""
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix):
            for name, value in module._members():
                if isinstance(value, Tensor) and id(value) not in seen:
                    seen.add(id(value))
                    yield _join(module_name, name), value

    def parameters(self) -> Iterator[Tensor]:
        for _, p in self.named_parameters():
            yield p

    # ----- gradients and modes -------------------------------------------------
    def zero_grad(self) -> None:
        """Forget every parameter's gradient (set ``.grad`` to None)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every sub-module; returns self."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """``train(False)``."""
        return self.train(False)

    # ----- state ---------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameter name -> a copy of its array, in ``named_parameters`` order."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy ``state``'s arrays into the parameters of the same names, in place.

        Refuses (ValueError, listing every problem, changing nothing) a value
        whose shape or dtype differs from its parameter's and, when ``strict``,
        names missing from ``state`` or not parameters of this module.
        """
        own = dict(self.named_parameters())
        values = {name: backend.as_array(v.data if isinstance(v, Tensor) else v)
                  for name, v in state.items()}
        problems = []
        if strict:
            missing = [n for n in own if n not in values]
            unexpected = [n for n in values if n not in own]
            if missing:
                problems.append(f"missing: {', '.join(missing)}")
            if unexpected:
                problems.append(f"unexpected: {', '.join(unexpected)}")
        for name, p in own.items():
            v = values.get(name)
            if v is not None and (v.shape != p.shape or v.dtype != p.dtype):
                problems.append(f"{name}: expected shape {p.shape} dtype {p.dtype}, "
                                f"got shape {v.shape} dtype {v.dtype}")
        if problems:
            raise ValueError(f"load_state_dict: {type(self).__name__} refuses the state: "
                             + "; ".join(problems))
        for name, p in own.items():
            if name in values:
                np.copyto(p.data, backend.to_device(values[name], p.device))  # host -> GPU too
                p._version += 1

    def save(self, path: str | Path) -> Path:
        """Write the parameters to an ``.npz`` file (see :func:`chainrule.nn.save`)."""
        return save(self, path)

    def load(self, path: str | Path, strict: bool = True) -> Module:
        """Read parameters from an ``.npz`` file (see :func:`chainrule.nn.load`)."""
        return load(self, path, strict)

    # ----- devices and other libraries -----------------------------------------------
    def to(self, device: str) -> Module:
        """Move every parameter to ``device`` (``"cpu"``, ``"cuda"``) in place (the same
        Parameter objects: an optimizer made before or after sees them); their gradients
        are dropped. Returns self."""
        for p in self.parameters():
            data = backend.to_device(p._data, device)
            if data is not p._data:
                p._data, p.grad = data, None
                p._version += 1
        return self

    def cpu(self) -> Module:
        """``to("cpu")``."""
        return self.to("cpu")

    def cuda(self) -> Module:
        """``to("cuda")``."""
        return self.to("cuda")

    @staticmethod
    def from_torch(module: Any) -> Module:
        """A ``torch.nn.Module`` (Linear, activations, Sequential) as the chainrule module
        computing the same function, with copies of its parameters on its device; see
        :mod:`chainrule.nn.torch_import`."""
        from chainrule.nn.torch_import import from_torch

        return from_torch(module)

    def to_torch(self) -> Any:
        """This module as a ``torch.nn.Module`` with copies of its parameters (Linear
        weights transposed to PyTorch's ``(out, in)``); see :mod:`chainrule.nn.torch_export`."""
        from chainrule.nn.torch_export import to_torch  # it imports the layers, built on this

        return to_torch(self)

    # ----- printing ----------------------------------------------------------
    def extra_repr(self) -> str:
        """The part of the repr inside the parentheses (a layer's settings)."""
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}("
        extra = self.extra_repr()
        children = list(self.named_children())
        if not children:
            return head + extra + ")"
        lines = [head] + ([f"  {extra}"] if extra else [])
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join([*lines, ")"])
