"""The primitive table on a device array: every row of ``cases.CASES`` computed on the
CuPy stand-in (``tests/standin_array.py``) gives the values and gradients NumPy gives, with
every result on the device. A place in the engine that still converts to NumPy fails here
with its line (the stand-in refuses ``__array__`` as CuPy does).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from cases import CASES, Case
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from standin_array import DeviceArray, installed, namespace

import chainrule as cr

EXAMPLES = max(int(os.environ.get("CHAINRULE_EXAMPLES", "10")) // 3, 1)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# Rows whose function closes over a host constant (a NumPy mask or array operand): on a GPU
# the user must move it to the device first, so the row mixes devices by design.
HOST_CONSTANTS = {"where", "where[broadcast condition]", "select"}
ROWS = [c for c in CASES if c.name not in HOST_CONSTANTS]
ALL = pytest.mark.parametrize("case", ROWS, ids=lambda c: c.name)
SECOND_ORDER = pytest.mark.parametrize("case", [c for c in ROWS if c.second_order],
                                       ids=lambda c: c.name)


def on_host(g: object) -> np.ndarray | None:
    """A result of the device run, checked to be on the device, copied to the host."""
    if g is None:
        return None
    data = g.data if isinstance(g, cr.Tensor) else g
    assert type(data) is DeviceArray, f"a result of type {type(data).__name__} left the device"
    return namespace.asnumpy(data)


def assert_same(got: np.ndarray | None, want: object, what: str) -> None:
    want = None if want is None else (want.data if isinstance(want, cr.Tensor) else want)
    if want is None or got is None:
        assert got is None and want is None, f"{what}: one side has no gradient"
        return
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, err_msg=what)


def run(case: Case, arrays: list, v: np.ndarray, device: str | None) -> tuple:
    xs = [cr.tensor(a, requires_grad=True, device=device) for a in arrays]
    out = case.fn(*xs)
    out.backward(v if device is None else namespace.asarray(v))
    return out, xs


@ALL
@SETTINGS
@given(data=st.data())
def test_value_and_vjp_on_the_device_match_numpy(case: Case, data: st.DataObject) -> None:
    arrays = data.draw(case.inputs, label="inputs")
    out = case.fn(*[cr.tensor(a, requires_grad=True) for a in arrays])
    v = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).standard_normal(out.shape)
    host, xs = run(case, arrays, v, None)
    with installed():
        dev, dxs = run(case, arrays, v, "cuda")
        assert dev.device == "cuda:0"
        assert_same(on_host(dev), host, f"{case.name}: value")
        for k, (d, x) in enumerate(zip(dxs, xs, strict=True)):
            assert_same(on_host(d.grad), x.grad, f"{case.name}: gradient {k}")


@SECOND_ORDER
@SETTINGS
@given(data=st.data())
def test_second_derivatives_on_the_device_match_numpy(case: Case, data: st.DataObject) -> None:
    arrays = data.draw(case.inputs, label="inputs")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    weights = [rng.standard_normal(np.shape(a)) for a in arrays]

    def second(device: str | None) -> list:
        xs = [cr.tensor(a, requires_grad=True, device=device) for a in arrays]
        out = case.fn(*xs)
        v = np.ones(out.shape) if device is None else namespace.ones(out.shape)
        firsts = cr.grad(out, xs, grad_outputs=v, create_graph=True, allow_unused=True)
        terms = [(g * (w if device is None else namespace.asarray(w))).sum()
                 for g, w in zip(firsts, weights, strict=True)
                 if g is not None and g.requires_grad]
        if not terms:
            return [None] * len(xs)
        return list(cr.grad(sum(terms[1:], terms[0]), xs, allow_unused=True))

    host = second(None)
    with installed():
        dev = second("cuda")
        for k, (d, h) in enumerate(zip(dev, host, strict=True)):
            assert_same(on_host(d), h, f"{case.name}: second derivative {k}")
