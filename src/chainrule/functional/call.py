"""``functional_call``: run a Module on a container of parameters, so that a transform can
differentiate with respect to them (as ``torch.func.functional_call``)::

    params = model.state_dict()                       # {"0.weight": W0, "0.bias": b0, ...}
    loss = lambda p: cr.sum(functional_call(model, p, x) ** 2)
    grads = cr.grad(loss)(params)                     # {"0.bias": db0, "0.weight": dW0, ...}

A Module is not a tree node itself (see :mod:`chainrule.tree`); its parameters are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chainrule.tensor import Tensor


def functional_call(module: Any, params: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
    """``module(*args, **kwargs)`` with ``params[name]`` standing in for each parameter of
    that dotted name (``named_parameters``' names, ``state_dict``'s keys); parameters not
    named in ``params`` keep their own values.

    The module's attributes are swapped for the duration of the call and put back after it
    (even on an error), so the module is left as it was; do not call the same module from
    two threads at once.
    """
    from chainrule.nn.module import Module  # nn builds on the core

    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected a chainrule.nn.Module, got "
                        f"{type(module).__name__}")
    own = dict(module.named_parameters())
    unknown = [name for name in params if name not in own]
    if unknown:
        raise ValueError(f"functional_call: {type(module).__name__} has no parameter(s) "
                         f"{', '.join(map(repr, unknown))}; its parameters are "
                         f"{', '.join(own)}")
    stand_ins = {id(own[name]): value for name, value in params.items()}
    swapped = []
    try:
        for m in module.modules():
            for attr, value in list(vars(m).items()):
                new = _substitute(value, stand_ins)
                if new is not value:
                    swapped.append((m, attr, value))
                    setattr(m, attr, new)
        return module(*args, **kwargs)
    finally:
        for m, attr, value in reversed(swapped):
            setattr(m, attr, value)


def _substitute(value: Any, stand_ins: dict[int, Any]) -> Any:
    """``value`` with the parameters in ``stand_ins`` replaced, looking inside lists, tuples
    and dicts as Module does; the same object when nothing in it is replaced."""
    if isinstance(value, Tensor):
        return stand_ins.get(id(value), value)
    if isinstance(value, list | tuple):
        items = [_substitute(v, stand_ins) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return type(value)(*items) if hasattr(type(value), "_fields") else type(value)(items)
    if isinstance(value, dict):
        new = {k: _substitute(v, stand_ins) for k, v in value.items()}
        return value if all(new[k] is v for k, v in value.items()) else type(value)(new)
    return value
