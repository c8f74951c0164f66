"""chainrule.tree: flatten/unflatten of containers, paths, tree_map, and the refusals."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, defaultdict, namedtuple

import numpy as np
import pytest

import chainrule as cr
from chainrule.tree import TreeDef

Pair = namedtuple("Pair", "w b")


@dataclasses.dataclass
class Layer:
    weight: object
    bias: object


@dataclasses.dataclass(frozen=True)
class Frozen:
    a: object
    b: object


@dataclasses.dataclass
class Converting:
    x: object

    def __post_init__(self):
        self.x = np.asarray(self.x) * 2  # would double a gradient put back through __init__


def test_dict_leaves_come_in_sorted_key_order_and_structure_prints():
    tree = {"b": (1.0, np.ones(2)), "a": [np.zeros(3), None]}
    leaves, td = cr.tree_flatten(tree)
    assert [np.shape(x) for x in leaves] == [(3,), (), (2,)]
    assert str(td) == "{'a': [*, None], 'b': (*, *)}"
    assert td.num_leaves == 3
    assert cr.tree_structure({"a": [0, None], "b": (0, 0)}) == td  # insertion order is moot
    rebuilt = cr.tree_unflatten(td, [10, 20, 30])
    assert rebuilt == {"a": [10, None], "b": (20, 30)} and list(rebuilt) == ["a", "b"]


@pytest.mark.parametrize("tree", [
    (1.0, [2.0, (3.0,)]),
    Pair(np.ones(2), 3.0),
    Layer(np.ones((2, 2)), [1.0, 2.0]),
    Frozen(1.0, {"z": 2.0, "y": 3.0}),
    OrderedDict([("z", 1.0), ("a", 2.0)]),
    [None, (None,), {"k": None}],
])
def test_every_container_round_trips_with_its_type(tree):
    leaves, td = cr.tree_flatten(tree)
    back = cr.tree_unflatten(td, leaves)
    assert type(back) is type(tree)
    assert cr.tree_structure(back) == td
    assert all(a is b for a, b in zip(cr.tree_leaves(back), leaves))


def test_none_is_an_empty_subtree():
    leaves, td = cr.tree_flatten({"w": 1.0, "frozen": None})
    assert leaves == [1.0] and str(td) == "{'frozen': None, 'w': *}"
    assert cr.tree_leaves(None) == [] and cr.tree_unflatten(cr.tree_structure(None), []) is None


def test_ordered_dict_keeps_its_order_and_defaultdict_its_factory():
    assert cr.tree_leaves(OrderedDict([("z", 1), ("a", 2)])) == [1, 2]
    d = defaultdict(list, {"b": 1, "a": 2})
    leaves, td = cr.tree_flatten(d)
    back = cr.tree_unflatten(td, leaves)
    assert leaves == [2, 1] and isinstance(back, defaultdict) and back["new"] == []


def test_namedtuple_and_dataclass_are_not_plain_tuples():
    assert cr.tree_structure(Pair(1, 2)) != cr.tree_structure((1, 2))
    assert str(cr.tree_structure(Pair(1, 2))) == "Pair(w=*, b=*)"
    assert str(cr.tree_structure(Layer(1, None))) == "Layer(weight=*, bias=None)"


def test_dataclass_rebuilt_without_init():
    c = Converting([1.0, 2.0])  # x = [2, 4]
    leaves, td = cr.tree_flatten(c)
    back = cr.tree_unflatten(td, [np.array([5.0, 6.0])])
    np.testing.assert_array_equal(back.x, [5.0, 6.0])  # not doubled again
    frozen = cr.tree_unflatten(cr.tree_structure(Frozen(0, 0)), [7, 8])
    assert (frozen.a, frozen.b) == (7, 8)


def test_leaf_paths_read_as_python():
    tree = {"layers": [Layer(1.0, 2.0), {"W": 3.0}], "scale": Pair(4.0, None)}
    paths = [p for p, _ in cr.tree_leaves_with_path(tree, "params")]
    assert paths == ["params['layers'][0].weight", "params['layers'][0].bias",
                     "params['layers'][1]['W']", "params['scale'].w"]
    assert [v for _, v in cr.tree_leaves_with_path(tree)] == [1.0, 2.0, 3.0, 4.0]


def test_tree_map_over_several_trees():
    a = {"x": np.ones(2), "y": (1.0, 2.0)}
    b = {"x": np.full(2, 3.0), "y": (10.0, 20.0)}
    out = cr.tree_map(lambda u, v: u * v, a, b)
    np.testing.assert_array_equal(out["x"], [3.0, 3.0])
    assert out["y"] == (10.0, 40.0)


def test_mismatched_structures_are_refused_naming_both():
    with pytest.raises(ValueError, match=r"tree 1 has structure \{'x': \*\}, the first tree "
                                         r"has \{'x': \*, 'y': \*\}"):
        cr.tree_map(lambda u, v: u, {"x": 1, "y": 2}, {"x": 1})
    with pytest.raises(ValueError, match=r"structure \[\*, \*\] has 2 leaves, got 3"):
        cr.tree_unflatten(cr.tree_structure([1, 2]), [1, 2, 3])


def test_flatten_up_to_reads_none_as_a_whole_subtree():
    td = cr.tree_structure({"a": (1, 2), "b": 3})
    assert td.flatten_up_to({"a": None, "b": 5}) == [None, None, 5]
    with pytest.raises(ValueError, match=r"structure \{'a': \(\*, \*\)\} does not match "
                                         r"\{'a': \(\*, \*\), 'b': \*\}"):
        td.flatten_up_to({"a": (1, 2)})
    with pytest.raises(ValueError, match="does not match"):
        cr.tree_structure(1.0).flatten_up_to((1.0, 2.0))  # a container where a leaf belongs


def test_unsortable_keys_modules_and_generators_are_refused():
    with pytest.raises(TypeError, match="cannot be sorted against each other"):
        cr.tree_flatten({1: 1.0, "a": 2.0})
    model = cr.nn.Linear(2, 1, rng=0)
    with pytest.raises(TypeError, match=r"Linear module is not a container.*state_dict"):
        cr.tree_flatten(model)
    with pytest.raises(TypeError, match=r"list\(model.parameters\(\)\)"):
        cr.tree_flatten(model.parameters())


def test_treedef_is_public_and_hashable():
    td = cr.tree_structure({"a": [1, 2]})
    assert isinstance(td, TreeDef) and hash(td) == hash(cr.tree_structure({"a": [3, 4]}))
