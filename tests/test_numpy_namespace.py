"""``import chainrule.numpy as np``: NumPy's names, constants and plain-array behaviour
passed through; the names chainrule answers reached through it (also with lists of
Tensors); ``r_``/``c_`` as NumPy builds them; refusals where a call would cut the graph."""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.numpy_interop import functions, ufuncs

_X = numpy.array([0.7, -1.3, 2.1])


def leaf() -> cr.Tensor:
    return cr.tensor(_X, requires_grad=True)


# ----- pass-through ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["pi", "e", "inf", "newaxis", "float32", "float64", "int64",
                                  "ndarray", "random", "zeros", "ones", "arange", "eye",
                                  "linspace", "histogram", "isfinite", "vectorize", "s_"])
def test_names_chainrule_does_not_answer_are_numpys_own(name: str) -> None:
    if getattr(numpy, name) in functions():
        pytest.skip(f"chainrule answers np.{name} now")
    assert getattr(cnp, name) is getattr(numpy, name)


def test_constants_and_creation_are_numpys() -> None:
    assert cnp.pi == numpy.pi and cnp.newaxis is None and numpy.isnan(cnp.nan)
    assert cnp.random is numpy.random
    assert type(cnp.zeros(3)) is numpy.ndarray and cnp.eye(2).dtype == numpy.float64


def test_integer_and_plain_arrays_are_unaffected() -> None:
    ints = cnp.array([1, 2, 3])
    assert type(ints) is numpy.ndarray and ints.dtype == numpy.int64
    assert cnp.asarray(ints) is ints
    assert cnp.sum([1, 2, 3]) == 6 and isinstance(cnp.sum([1, 2, 3]), numpy.integer)
    assert cnp.arange(4).dtype.kind == "i"
    assert cnp.array([[1.0, 2.0]], ndmin=3).shape == (1, 1, 2)
    # NumPy's own keywords still work on plain arrays, through NumPy itself
    assert cnp.sum(numpy.ones(3), dtype=numpy.float32).dtype == numpy.float32
    numpy.testing.assert_array_equal(cnp.exp([0.0, 1.0]), numpy.exp([0.0, 1.0]))
    assert cnp.add.reduce(numpy.arange(4)) == 6 and cnp.exp.nin == 1


def test_dir_and_star_import() -> None:
    names = dir(cnp)
    for name in ("array", "asarray", "r_", "c_", "mean", "linalg", "pi", "float64", "cumsum"):
        assert name in names
    assert "norm" in dir(cnp.linalg)
    space: dict = {}
    exec("from chainrule.numpy import *", space)  # noqa: S102
    assert space["pi"] == numpy.pi and space["array"] is cnp.array
    with pytest.raises(AttributeError, match="chainrule.numpy.*no attribute 'not_a_name'"):
        cnp.not_a_name  # noqa: B018


# ----- what chainrule answers ------------------------------------------------------------------
def _numpy_names() -> list[tuple[str, object]]:
    """(dotted name, NumPy object) of every NumPy function and ufunc chainrule answers."""
    found = []
    for obj in [*functions(), *ufuncs()]:
        for prefix, module in (("", numpy), ("linalg.", numpy.linalg), ("fft.", numpy.fft)):
            name = getattr(obj, "__name__", "")
            if getattr(module, name, None) is obj:
                found.append((prefix + name, obj))
                break
    return found


def test_every_numpy_name_chainrule_answers_is_reached_through_the_namespace() -> None:
    pairs = _numpy_names()
    assert len(pairs) >= 40
    for dotted, obj in pairs:
        value = cnp
        for part in dotted.split("."):
            value = getattr(value, part)
        wrapped = value.ufunc if isinstance(obj, numpy.ufunc) else value.__wrapped__
        assert wrapped is obj, dotted


def test_tensors_pass_as_they_are_and_asarray_casts_differentiably() -> None:
    x = leaf()
    assert cnp.asarray(x) is x
    y = cnp.asarray(x, dtype=numpy.float32)
    assert y.dtype == numpy.float32 and y.requires_grad
    copy = cnp.array(x)
    assert copy is not x and not numpy.shares_memory(copy.data, x.data)
    out = cnp.exp(x)
    assert isinstance(out, cr.Tensor) and out.requires_grad
    assert isinstance(cnp.array([cr.tensor(1.0), 2.0]), cr.Tensor)  # a Tensor in, a Tensor out


def test_questions_about_lists_of_tensors_are_answered_from_the_data() -> None:
    x = leaf()
    assert cnp.argmax([x[0], x[2]]) == 1
    assert cnp.allclose(x, _X) and cnp.shape([x, x]) == (2, 3)
    assert cnp.isfinite(x).all()


# ----- refusals --------------------------------------------------------------------------------
def test_a_numpy_function_without_a_chainrule_twin_refuses_a_tensor_that_needs_a_gradient() -> None:
    x = leaf()
    with pytest.raises(TypeError, match=r"np\.unique is not differentiable in chainrule.*"
                                        r"import chainrule\.numpy as np"):
        cnp.unique(x)
    with pytest.raises(TypeError, match="would cut it from the graph"):
        cnp.unique([x[0], x[1]])
    with pytest.raises(TypeError, match="would cut it from the graph"):
        cnp.random.normal(x)
    numpy.testing.assert_array_equal(cnp.unique(cr.tensor([2.0, 1.0, 2.0])), [1.0, 2.0])


# ----- r_ and c_ -------------------------------------------------------------------------------
# slice(None) marks where x goes
@pytest.mark.parametrize(("builder", "key"), [
    ("r_", (slice(None), 1.0, [5.0, 6.0], slice(0, 2))),
    ("r_", (slice(None), slice(0, 1, 3j))),
    ("r_", ("0,2", slice(None), [3.0, 4.0, 5.0])),
    ("r_", ("1,2,0", slice(None), [3.0, 4.0, 5.0])),
    ("r_", ("-1", slice(None), numpy.array([1.0]))),
    ("r_", (slice(None),)),
    ("c_", (slice(None), [3.0, 4.0, 5.0], slice(0, 3))),
    ("c_", (slice(None), slice(0, 1, 3j), slice(None))),
    ("c_", ("0", slice(None), [[1.0]])),
    ("c_", (slice(None),)),
], ids=repr)
def test_index_builders_lay_out_tensors_as_numpy_lays_out_arrays(builder: str,
                                                                 key: tuple) -> None:
    x = leaf()
    with_tensor = tuple(x if k == slice(None) else k for k in key)
    with_array = tuple(_X if k == slice(None) else k for k in key)
    out = getattr(cnp, builder)[with_tensor]
    expected = getattr(numpy, builder)[with_array]
    assert isinstance(out, cr.Tensor) and out.requires_grad
    numpy.testing.assert_array_equal(out.data, expected)
    weights = numpy.arange(out.size, dtype=float).reshape(out.shape)
    (out * weights).sum().backward()
    # each element of x lands where NumPy put it: its gradient is the weight there
    marked = tuple(numpy.arange(10.0, 13.0) if k == slice(None) else k for k in key)
    layout = getattr(numpy, builder)[marked]
    for i in range(3):
        numpy.testing.assert_allclose(x.grad[i], weights[layout == 10.0 + i].sum())


def test_index_builders_without_tensors_are_numpys() -> None:
    numpy.testing.assert_array_equal(cnp.r_[1:4, 0, [7]], numpy.r_[1:4, 0, [7]])
    numpy.testing.assert_array_equal(cnp.c_[[1, 2], [3, 4]], numpy.c_[[1, 2], [3, 4]])


def test_index_builders_refuse_matrix_directives_with_tensors() -> None:
    with pytest.raises(ValueError, match="only 'axis\\[,ndmin\\[,trans1d\\]\\]'"):
        cnp.r_["r", leaf(), leaf()]
    with pytest.raises(ValueError, match="directives must be the first entry"):
        cnp.r_[leaf(), "0"]
