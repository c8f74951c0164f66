"""Anomaly mode: the first NaN/Inf of a forward or backward pass, named and located."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import anomaly
from chainrule.anomaly import detect_anomaly

HERE = os.path.basename(__file__)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def test_forward_log_of_zero_is_named_with_its_line():
    x = cr.tensor([[1.0, 0.0, 2.0]], requires_grad=True)
    with pytest.raises(FloatingPointError) as info, detect_anomaly():
        y = cr.log(x)  # the line the message must point at
        y.sum()
    msg = str(info.value)
    assert "forward of 'log'" in msg
    assert "-Inf (1 of 3 elements, first at index (0, 1))" in msg
    assert "input shapes (1, 3)" in msg
    assert f"{HERE}:" in msg and "y = cr.log(x)" in msg


def test_forward_nan_is_reported_as_nan():
    x = cr.tensor([4.0, -1.0], requires_grad=True)
    with pytest.raises(FloatingPointError, match=r"forward of 'sqrt' produced NaN \(1 of 2"), \
            detect_anomaly():
        x.sqrt()


def test_backward_sqrt_at_zero_names_the_sqrt_and_where_it_was_made():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        r = cr.sqrt(x * x)  # finite forward: sqrt(0) = 0
        loss = r.sum()
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    msg = str(info.value)
    assert "backward of 'sqrt' produced Inf" in msg  # d sqrt(u) = du / (2 sqrt u): 1/0
    assert "gradient of argument 0" in msg
    assert f"{HERE}:" in msg and "r = cr.sqrt(x * x)" in msg


def test_both_in_one_program():
    """The chapter's two failure modes, one after the other, each named."""
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    messages = []
    for make_loss in (lambda: (x * cr.log(x)).sum(), lambda: cr.sqrt(x * x).sum()):
        try:
            with detect_anomaly():
                make_loss().backward()
        except FloatingPointError as e:
            messages.append(str(e))
    assert len(messages) == 2
    assert "forward of 'log'" in messages[0] and "backward of 'sqrt'" in messages[1]


def test_without_anomaly_mode_the_nan_goes_through():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    cr.sqrt(x * x).sum().backward()
    assert np.isnan(x.grad[0]) and x.grad[1] == 1.0
    assert not anomaly.ACTIVE


def test_node_without_location_when_recorded_outside():
    x = cr.tensor([0.0], requires_grad=True)
    loss = cr.sqrt(x).sum()
    with pytest.raises(FloatingPointError, match="made outside detect_anomaly"), detect_anomaly():
        loss.backward()


def test_context_restores_the_flag_after_an_error():
    with pytest.raises(FloatingPointError), detect_anomaly():
        assert anomaly.ACTIVE
        cr.log(cr.tensor([0.0], requires_grad=True))
    assert not anomaly.ACTIVE
    with detect_anomaly():
        with detect_anomaly():
            pass
        assert anomaly.ACTIVE


def test_finite_results_pass_and_match_plain_mode():
    x = cr.tensor([0.5, 1.5], requires_grad=True)
    with detect_anomaly():
        cr.log(x).sum().backward()
    np.testing.assert_allclose(x.grad, 1 / x.data)
