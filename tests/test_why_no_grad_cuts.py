"""why_no_grad when a parameter's only differentiable path to the loss is multiplied by zero
and another use of it went through a cut: the report names both, the zero and the cut (with
the line that made it), for argmax, detach, a NumPy call and a comparison."""

from __future__ import annotations

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.diagnose import why_no_grad

HERE = os.path.basename(__file__)
RNG = np.random.default_rng(7)
X = RNG.normal(size=(16, 5))
Y = RNG.integers(0, 3, size=16)


pytestmark = pytest.mark.usefixtures("fresh_cutlog")  # (tests/conftest.py)


def error_rate_program(cut: str) -> tuple[cr.Tensor, nn.Module]:
    """A small classifier trained on its error rate (the mistake: the error rate goes through
    a cut) plus a weight decay whose coefficient was left at 0 (the only recorded path)."""
    model = nn.MLP([5, 8, 3], rng=0)
    logits = model(X)
    if cut == "argmax":
        pred = logits.argmax(axis=1)
        error = cr.tensor(np.asarray(pred != Y, dtype=float)).mean()
    elif cut == "detach":
        error = nn.functional.cross_entropy(logits.detach(), Y)
    elif cut == "numpy":
        pred = np.argsort(logits, axis=1)[:, -1]  # np.asarray(logits) itself is refused
        error = cr.tensor((pred != Y) * 1.0).mean()
    else:
        wrong = logits < 0
        error = cr.tensor(np.asarray(wrong, dtype=float)).mean()
    decay = 0.0
    penalty = sum((p * p).sum() for p in model.parameters())
    return error + decay * penalty, model


CUT_LINES = {
    "argmax": ("argmax at", "pred = logits.argmax(axis=1)", "integer indices"),
    "detach": ("detach at", "error = nn.functional.cross_entropy(logits.detach(), Y)",
               "without history"),
    "numpy": ("numpy: np.argsort at", "pred = np.argsort(logits, axis=1)[:, -1]",
              "a NumPy call on a tensor returns a plain array"),
    "comparison": ("comparison < at", "wrong = logits < 0", "booleans"),
}


@pytest.mark.parametrize("cut", list(CUT_LINES))
def test_zero_path_and_cut_are_both_named(cut):
    loss, model = error_rate_program(cut)
    report = why_no_grad(loss, model)
    assert list(report) == [name for name, _ in model.named_parameters()]
    op, line, why = CUT_LINES[cut]
    for name, reason in report.items():
        assert reason.startswith("gradient is exactly zero: 'mul' multiplies it by the "
                                 "constant 0.0, so its gradient is 0"), (name, reason)
        assert f"another use of it was cut from the graph by {op} " in reason, reason
        assert f"{HERE}:" in reason, reason
        assert line in reason and why in reason, reason
    loss.backward()  # and the gradient really is exactly zero
    assert all(not np.any(p.grad) for p in model.parameters())


def test_np_argmax_on_a_tensor_is_logged_as_a_cut():
    w = cr.tensor(RNG.normal(size=(5, 3)), requires_grad=True)
    logits = cr.tensor(X) @ w
    pred = np.argmax(logits, axis=1)
    loss = cr.tensor((pred == Y) * 1.0).mean() + (w * 0.0).sum()
    report = why_no_grad(loss, {"w": w})
    assert "cut from the graph by numpy: np.argmax at" in report["w"]
    assert "pred = np.argmax(logits, axis=1)" in report["w"]


def test_no_cut_no_cut_sentence():
    w = cr.tensor(RNG.normal(size=(5, 3)), requires_grad=True)
    report = why_no_grad(((cr.tensor(X) @ w) * 0.0).sum(), {"w": w})
    assert report["w"] == ("gradient is exactly zero: 'mul' multiplies it by the constant 0.0, "
                           "so its gradient is 0")


def test_a_healthy_parameter_reports_nothing_despite_a_cut():
    w = cr.tensor(RNG.normal(size=(5, 3)), requires_grad=True)
    logits = cr.tensor(X) @ w
    _ = logits.argmax(axis=1)
    assert not why_no_grad(nn.functional.cross_entropy(logits, Y), {"w": w})
