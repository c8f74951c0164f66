"""Containers of arrays ("pytrees"): one flatten and one unflatten, used by every transform.

``grad``, ``value_and_grad``, ``vjp``, ``jvp``, the Jacobians, ``hessian``, ``hvp``,
``checkpoint`` and ``gradcheck`` all take and give containers through this module; none of
them walks a container on its own. A tree is a leaf or a container node of trees::

    tree_flatten({"b": (W, b), "a": [x, None]}) == ([x, W, b], treedef)
    str(treedef) == "{'a': [*, None], 'b': (*, *)}"

Nodes (decided here, as JAX does unless said otherwise):

* ``tuple``, ``list``: children in order. ``namedtuple``: its fields, rebuilt as the same
  namedtuple type.
* ``dict``: children in **sorted key order** (as JAX), so ``{"b": .., "a": ..}`` and
  ``{"a": .., "b": ..}`` have one structure and their leaves come in the same order; the
  rebuilt dict has its keys in sorted order. Keys must be sortable against each other.
  ``OrderedDict`` keeps its own order (as JAX); a ``defaultdict`` keeps its factory.
* dataclass instances: their fields (``dataclasses.fields``), in declaration order; the
  rebuilt instance gets its fields set one by one *without* calling ``__init__`` or
  ``__post_init__`` (which could convert or validate the gradients placed in it).
* ``None``: an empty subtree (no leaves), as in JAX. ``{"w": W, "frozen": None}`` has one
  leaf, and its gradient is ``{"w": dW, "frozen": None}``.
* ``chainrule.nn.Module`` is **not** a node: a module holds code and state besides its
  parameters, and a "module of gradients" would be a fake model. Use its parameters as the
  tree (``model.state_dict()``, ``dict(model.named_parameters())`` or
  ``list(model.parameters())``) and run the model on such a tree with
  :func:`chainrule.functional_call`. Passing a module or a generator to a transform is
  refused with that advice.

Everything else is a leaf: Tensors, NumPy arrays, Python and NumPy scalars, and any other
object (a string, a function in ``has_aux`` output). Transforms then decide what a leaf may
be: as a differentiation input a leaf must be floating point; an int or bool leaf, a string
or another object is refused with an error naming its path (``grad: params['layers'][2]
['W']: dtype int64 ...``). Two trees that should match (primals and tangents, an output
and its cotangent, the trees of ``tree_map``) are refused with both structures named.

Derivatives come back in the structure of the input, each leaf in its input leaf's dtype (a
float32 leaf gets a float32 gradient even where a float64 constant took part; float32 and
float64 leaves of one dict each keep their own).

Paths are written as in Python source: ``['layers'][2]['W']`` for dicts and sequences,
``.weight`` for namedtuple and dataclass fields.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import GeneratorType
from typing import Any

__all__ = ["TreeDef", "tree_broadcast_prefix", "tree_flatten", "tree_leaves",
           "tree_leaves_with_path", "tree_map", "tree_structure", "tree_unflatten"]


@dataclass(frozen=True)
class TreeDef:
    """The structure of a tree without its leaves: a node kind, the node's type and keys
    (dict keys, field names), and one TreeDef per child. Two trees have the same structure
    when their TreeDefs are equal."""

    kind: str  # "leaf", "none", "tuple", "list", "namedtuple", "dict", "dataclass"
    type: type | None = None
    keys: tuple = ()
    children: tuple[TreeDef, ...] = ()
    meta: Any = None  # a defaultdict's default_factory

    @property
    def num_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)

    def __str__(self) -> str:
        kids = [str(c) for c in self.children]
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        if self.kind == "tuple":
            return f"({kids[0]},)" if len(kids) == 1 else f"({', '.join(kids)})"
        if self.kind == "list":
            return f"[{', '.join(kids)}]"
        cls: Any = self.type  # set on every kind of container
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c}" for k, c in zip(self.keys, kids))
            return "{" + inner + "}" if cls is dict else f"{cls.__name__}({{{inner}}})"
        fields = ", ".join(f"{k}={c}" for k, c in zip(self.keys, kids))
        return f"{cls.__name__}({fields})"

    def flatten_up_to(self, tree: Any) -> list:
        """The leaves of ``tree`` at this structure's leaf positions. A ``None`` in ``tree``
        where this structure has a subtree stands for that whole subtree and gives one None
        per leaf (a zero cotangent, say). Any other difference raises ValueError naming
        both structures."""
        out: list = []
        if not self._collect(tree, out):
            raise ValueError(f"structure {tree_structure(tree)} does not match {self}")
        return out

    def _collect(self, tree: Any, out: list) -> bool:
        if self.kind == "leaf":
            out.append(tree)
            return tree is None or _node(tree) is None
        if tree is None:
            out.extend([None] * self.num_leaves)
            return True
        node = _node(tree)
        if node is None or node[:3] != (self.kind, self.type, self.keys) or \
                len(node[3]) != len(self.children):
            return False
        return all(c._collect(t, out) for c, t in zip(self.children, node[3]))


LEAF = TreeDef("leaf")
_NONE = TreeDef("none")


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _node(x: Any) -> tuple[str, type | None, tuple, list, Any] | None:
    """(kind, type, keys, children, meta) of a container node; None for a leaf."""
    if _is_namedtuple(x):
        return "namedtuple", type(x), tuple(type(x)._fields), list(x), None
    if isinstance(x, tuple):
        return "tuple", tuple, (), list(x), None
    if isinstance(x, list):
        return "list", list, (), list(x), None
    if isinstance(x, dict):
        keys = tuple(x) if isinstance(x, OrderedDict) else _sorted_keys(x)
        factory = x.default_factory if isinstance(x, defaultdict) else None
        kind_type = OrderedDict if isinstance(x, OrderedDict) else (
            defaultdict if isinstance(x, defaultdict) else dict)
        return "dict", kind_type, keys, [x[k] for k in keys], factory
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        names = tuple(f.name for f in dataclasses.fields(x))
        return "dataclass", type(x), names, [getattr(x, n) for n in names], None
    _refuse_non_trees(x)
    return None


def _sorted_keys(d: dict) -> tuple:
    try:
        return tuple(sorted(d))
    except TypeError:
        raise TypeError(f"tree: dict keys {list(d)} cannot be sorted against each other; "
                        "containers of parameters take their leaves in sorted key order "
                        "(use keys of one type, or an OrderedDict)") from None


def _refuse_non_trees(x: Any) -> None:
    from chainrule.nn.module import Module  # nn builds on the core; imported when needed

    if isinstance(x, Module):
        raise TypeError(f"a {type(x).__name__} module is not a container of parameters; use "
                        "model.state_dict() or dict(model.named_parameters()) as the tree "
                        "and run the model on it with chainrule.functional_call")
    if isinstance(x, GeneratorType):
        raise TypeError("a generator is not a container (it can be read once); pass a list, "
                        "e.g. list(model.parameters())")


# ----- flatten and unflatten ---------------------------------------------------------------
def tree_flatten(tree: Any) -> tuple[list, TreeDef]:
    """``(leaves, treedef)``: the leaves in order (dicts by sorted key) and the structure
    that :func:`tree_unflatten` rebuilds the tree from."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Any, leaves: list) -> TreeDef:
    if tree is None:
        return _NONE
    node = _node(tree)
    if node is None:
        leaves.append(tree)
        return LEAF
    kind, typ, keys, children, meta = node
    return TreeDef(kind, typ, keys, tuple(_flatten(c, leaves) for c in children), meta)


def tree_unflatten(treedef: TreeDef, leaves: Any) -> Any:
    """The tree of structure ``treedef`` holding ``leaves`` (in flatten order)."""
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"tree_unflatten: structure {treedef} has {treedef.num_leaves} "
                         f"leaves, got {len(leaves)}")
    return _build(treedef, iter(leaves))


def _build(td: TreeDef, leaves: Iterator) -> Any:
    if td.kind == "leaf":
        return next(leaves)
    if td.kind == "none":
        return None
    children = [_build(c, leaves) for c in td.children]
    cls: Any = td.type  # set on every kind of container
    if td.kind in ("tuple", "list"):
        return cls(children)
    if td.kind == "namedtuple":
        return cls(*children)
    if td.kind == "dict":
        pairs = zip(td.keys, children)
        return defaultdict(td.meta, pairs) if cls is defaultdict else cls(pairs)
    obj = object.__new__(cls)  # dataclass: fields set without __init__ (see above)
    for name, value in zip(td.keys, children):
        object.__setattr__(obj, name, value)
    return obj


def tree_leaves(tree: Any) -> list:
    """The leaves of ``tree`` in flatten order."""
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> TreeDef:
    """The structure of ``tree`` (its :class:`TreeDef`)."""
    return tree_flatten(tree)[1]


def tree_leaves_with_path(tree: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``[(path, leaf), ...]`` in flatten order, each path written as in Python source
    after ``prefix``: ``params['layers'][2]['W']``, ``state.weight``."""
    if tree is None:
        return []
    node = _node(tree)
    if node is None:
        return [(prefix, tree)]
    kind, _, keys, children, _ = node
    if kind in ("namedtuple", "dataclass"):
        steps = [f".{k}" for k in keys]
    elif kind == "dict":
        steps = [f"[{k!r}]" for k in keys]
    else:
        steps = [f"[{i}]" for i in range(len(children))]
    return [pl for step, c in zip(steps, children)
            for pl in tree_leaves_with_path(c, prefix + step)]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """The tree of ``f(leaf, *leaves of rest at the same place)``, with ``tree``'s
    structure; every tree in ``rest`` must have that structure (ValueError naming both)."""
    leaves, treedef = tree_flatten(tree)
    others = []
    for k, other in enumerate(rest):
        other_leaves, other_def = tree_flatten(other)
        if other_def != treedef:
            raise ValueError(f"tree_map: tree {k + 1} has structure {other_def}, the first "
                             f"tree has {treedef}")
        others.append(other_leaves)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others)])


def tree_broadcast_prefix(prefix: Any, tree: Any) -> list:
    """For each leaf of ``tree`` (in flatten order), the leaf of ``prefix`` that covers it.

    ``prefix`` has the structure of the top of ``tree``; each of its leaves stands for a
    whole subtree of ``tree`` (``vmap``'s ``in_axes=(0, {"w": None, "b": 0})``). Here, as in
    JAX's axis specifications, ``None`` in the prefix is a leaf, not an empty subtree.
    ValueError naming both structures when ``prefix`` is not a prefix of ``tree``."""
    out: list = []
    _broadcast(prefix, tree, out)
    return out


def _broadcast(prefix: Any, tree: Any, out: list) -> None:
    node = None if prefix is None else _node(prefix)
    if node is None:
        out.extend([prefix] * tree_structure(tree).num_leaves)
        return
    there = None if tree is None else _node(tree)
    if there is None or there[:3] != node[:3] or len(there[3]) != len(node[3]):
        raise ValueError(f"{_str_with_none(prefix)} is not a prefix of the structure "
                         f"{tree_structure(tree)}")
    for p, t in zip(node[3], there[3]):
        _broadcast(p, t, out)


def _str_with_none(prefix: Any) -> str:
    return repr(prefix) if isinstance(prefix, tuple | list | dict) else str(prefix)
