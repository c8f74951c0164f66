"""chainrule.diagnose: every why_no_grad reason from a small real program; gradient norms;
the depth profile of exercise 34; cost profiles."""

from __future__ import annotations

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import cutlog, memory
from chainrule.diagnose import cost_profile, gradient_norms, tanh_depth_profile, why_no_grad
from chainrule.nn import MLP

HERE = os.path.basename(__file__)
RNG = np.random.default_rng(0)
X = cr.tensor(RNG.normal(size=(8, 4)))
Y = RNG.integers(0, 3, size=8)


pytestmark = pytest.mark.usefixtures("fresh_cutlog")  # (tests/conftest.py)


def weights(*shape, seed=1, requires_grad=True):
    return cr.tensor(np.random.default_rng(seed).normal(size=shape), requires_grad=requires_grad)


def test_forgotten_requires_grad():
    w = weights(4, 3, requires_grad=False)
    b = cr.tensor(np.ones(3), requires_grad=True)
    loss = cr.cross_entropy_logits(X @ w + b, Y)
    report = why_no_grad(loss, {"w": w, "b": b})
    assert list(report) == ["w"]
    assert report["w"] == ("never required grad: it was created without requires_grad=True, "
                           "so no gradient is recorded for it")
    v = weights(3, requires_grad=False)
    report = why_no_grad((X[:, :3] * b * v).sum(), {"v": v})
    assert report["v"].startswith("never required grad: it is used by 'mul' in the loss, but")


def test_argmax_in_the_loss():
    w = weights(4, 3)
    pred = (X @ w).argmax(axis=1)  # the cut
    loss = cr.tensor((pred != Y).astype(float), requires_grad=True).mean()
    report = why_no_grad(loss, {"w": w})
    assert report["w"].startswith("not reachable from the loss: its path was cut by argmax at ")
    assert f"{HERE}:" in report["w"] and "pred = (X @ w).argmax(axis=1)" in report["w"]
    assert "integer indices" in report["w"]


def test_detach():
    w, v = weights(4, 3), weights(3, seed=2)
    h = (X @ w).tanh().detach()
    loss = (h * v).sum()
    report = why_no_grad(loss, [w, v])
    assert list(report) == ["params[0]"]
    assert "cut by detach at " in report["params[0]"] and "h = (X @ w).tanh().detach()" in \
        report["params[0]"]


@pytest.mark.parametrize("op", ["no_grad: matmul", "comparison >", "astype(int64)"])
def test_no_grad_comparison_and_integer_cast(op):
    w, v = weights(4, 3), weights(3, seed=2)
    if op.startswith("no_grad"):
        with cr.no_grad():
            h = (X @ w).tanh()
    elif op.startswith("comparison"):
        h = cr.tensor(((X @ w) > 0) * 1.0)
    else:
        h = (X @ w).astype(int)
    report = why_no_grad((h * v).sum(), {"w": w, "v": v})
    assert list(report) == ["w"]
    assert report["w"].startswith(f"not reachable from the loss: its path was cut by {op} at ")


def test_the_cut_whose_result_the_loss_uses_is_preferred():
    w, v = weights(4, 3), weights(3, seed=2)
    h = (X @ w).detach()  # the cause
    later = (X @ w) > 0  # a later cut of w, its result unused by the loss
    report = why_no_grad((h * v).sum(), {"w": w})
    assert "cut by detach" in report["w"]
    assert later.shape == (8, 3)


def test_no_grad_calls_from_one_line_merge_into_one_event():
    w = weights(4, 3)
    with cr.no_grad():
        h = (X @ w).tanh().sum()
        h2 = (X @ w) * w.sum()
    events = cutlog.events()
    assert len(events) == 2 and events[0].op == "no_grad: matmul"
    assert events[1].op == "no_grad: matmul, ..."  # matmul and sum: one line, one event
    assert len(events[1].outputs) == 2 and h.shape == () and h2.shape == (8, 3)


def test_in_place_overwrite_zeroes_the_gradient():
    w, v = weights(4, 3), weights(3, seed=2)
    h = X @ w
    h[...] = 0.0  # overwrites everything that depended on w
    loss = (h * v).sum() + v.sum()
    report = why_no_grad(loss, {"w": w, "v": v})
    assert list(report) == ["v"] or list(report) == ["w"]
    assert report["w"].startswith("gradient is exactly zero: its values were overwritten in "
                                  "place (t[...] = value on a tensor of shape (8, 3))")


def test_modified_in_place_after_the_forward_pass():
    w = weights(4, 3)
    loss = ((X @ w) ** 2).sum()
    with cr.no_grad():
        w -= 0.1  # e.g. an optimizer step before backward
    report = why_no_grad(loss, {"w": w})
    assert report["w"].startswith("modified in place: it was changed after 'matmul' saved it as "
                                  "argument 1 for backward (version 0, now 1)")
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_dead_relu_with_the_fraction_of_dead_units():
    w1 = weights(4, 16)
    b1 = cr.tensor(np.r_[np.full(12, -100.0), np.full(4, 100.0)], requires_grad=True)
    w2_data = np.random.default_rng(3).normal(size=(16, 3))
    w2_data[12:] = 0.0  # the 4 live units feed nothing
    w2 = cr.tensor(w2_data, requires_grad=True)
    loss = cr.cross_entropy_logits((X @ w1 + b1).relu() @ w2, Y)
    report = why_no_grad(loss, {"w1": w1, "b1": b1, "w2": w2})
    assert set(report) == {"w1", "b1"}
    for name in ("w1", "b1"):
        assert report[name] == ("gradient is exactly zero: it flows through a dead ReLU: 75% of "
                                "its 16 units are <= 0 for every one of the 8 examples, so they "
                                "pass back no gradient")


def test_all_dead_relu_also_starves_the_next_layer():
    model = MLP([4, 6, 3], rng=0)
    with cr.no_grad():
        model.layers[0].bias.data[...] = -1e3
    loss = cr.cross_entropy_logits(model(X), Y)
    report = why_no_grad(loss, model)
    assert set(report) == {"layers.0.weight", "layers.0.bias", "layers.2.weight"}
    assert "100% of its 6 units" in report["layers.0.weight"]
    assert report["layers.2.weight"].startswith("gradient is exactly zero: 'linear' multiplies "
                                                "it by the output of 'relu' (a dead ReLU: 100%")


def test_saturated_sigmoid():
    w = weights(4, 3)
    loss = (X @ w + 1e3).sigmoid().sum()
    report = why_no_grad(loss, {"w": w})
    assert report["w"].startswith("gradient is exactly zero: it flows through a saturated "
                                  "sigmoid: 100% of its 24 outputs")


def test_unused_and_late_requires_grad():
    w, unused = weights(4, 3), weights(2)
    late = weights(3, requires_grad=False)
    loss = ((X @ w) * late).sum()
    late.requires_grad_()
    report = why_no_grad(loss, {"w": w, "unused": unused, "late": late})
    assert list(report) == ["unused", "late"]
    assert report["unused"] == ("not reachable from the loss: the loss does not depend on it "
                                "(no recorded operation links them)")
    assert "did not require grad yet when the loss was computed" in report["late"]


def test_freed_graph_and_healthy_gradients():
    w, unused = weights(4, 3), weights(2)
    loss = (X @ w).sum()
    assert why_no_grad(loss, {"w": w}) == {}
    assert str(why_no_grad(loss, {"w": w})) == "every parameter gets a non-zero gradient"
    assert w.grad is None  # why_no_grad touches no .grad
    loss.backward()
    report = why_no_grad(loss, {"w": w, "unused": unused})
    assert list(report) == ["unused"] and "already freed by backward()" in report["unused"]
    assert str(report).startswith("unused: unknown")


def test_cuts_inside_chainrule_are_not_logged_and_the_log_is_bounded():
    w = weights(3)
    g, = cr.grad(w.relu().sum(), w, create_graph=True)  # relu's rule compares x > 0
    assert cutlog.events() == []
    for _ in range(cutlog.MAXLEN + 5):
        w.detach()
    assert len(cutlog.events()) == cutlog.MAXLEN


def test_gradient_norms_and_flags():
    model = MLP([4, 8, 8, 3], activation="tanh", rng=0)
    cr.cross_entropy_logits(model(X), Y).backward()
    model.layers[0].bias.grad = None
    model.layers[2].weight.grad = model.layers[2].weight.grad * 1e-9
    report = gradient_norms(model)
    rows = {r.name: r for r in report}
    w = model.layers[4].weight
    assert rows["layers.4.weight"].grad_norm == pytest.approx(np.linalg.norm(w.grad), rel=1e-15)
    assert rows["layers.4.weight"].weight_norm == pytest.approx(np.linalg.norm(w.data))
    assert rows["layers.4.weight"].ratio == pytest.approx(
        np.linalg.norm(w.grad) / np.linalg.norm(w.data))
    assert rows["layers.0.bias"].flag == "no gradient"
    assert rows["layers.2.weight"].flag == "vanishing"
    assert rows["layers.4.weight"].flag == ""
    model.layers[4].bias.grad = np.full(3, 1e4)
    assert gradient_norms(model)[-1].flag == "exploding"
    assert "layers.2.weight" in str(report) and "vanishing" in str(report)
    assert [r.name for r in report.flagged] == ["layers.0.bias", "layers.2.weight"]


def test_tanh_depth_profile_is_bounded_and_exact():
    rng = np.random.default_rng(4)
    ws = [rng.normal(size=(6, 6)) for _ in range(12)]
    ws = [0.9 * w / np.linalg.norm(w, 2) for w in ws]  # ||W|| = 0.9 < 1: vanishing
    x = rng.normal(size=6)
    profile = tanh_depth_profile(ws, x)
    # the Jacobian by hand: d h_l / d x = diag(tanh'(z_l)) W_l^T ... diag(tanh'(z_1)) W_1^T
    jac, h = np.eye(6), x
    for layer, w in enumerate(ws):
        z = h @ w
        jac = np.diag(1 - np.tanh(z) ** 2) @ w.T @ jac
        h = np.tanh(z)
        assert profile.measured[layer] == pytest.approx(np.linalg.norm(jac, 2), rel=1e-12)
    assert np.all(profile.measured <= profile.tanh_bound * (1 + 1e-12))
    assert np.all(profile.tanh_bound <= profile.bound * (1 + 1e-12))
    norms = [np.linalg.norm(w, 2) for w in ws]
    np.testing.assert_allclose(profile.bound, np.cumprod(norms), rtol=1e-12)
    assert profile.bound[-1] == pytest.approx(0.9 ** 12, rel=1e-12)
    assert profile.measured[-1] < 0.9 ** 12 < profile.measured[0]
    assert "prod |W|" in str(profile)


def test_tanh_depth_profile_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    ws = [rng.normal(size=(5, 5)) * 0.6 for _ in range(4)]
    x = rng.normal(size=5)

    def net(v):
        for w in ws:
            v = torch.tanh(v @ torch.tensor(w))
        return v

    jac = torch.autograd.functional.jacobian(net, torch.tensor(x)).numpy()
    assert tanh_depth_profile(ws, x).measured[-1] == pytest.approx(np.linalg.norm(jac, 2),
                                                                   rel=1e-12)


def test_tanh_depth_profile_rejects_bad_shapes():
    with pytest.raises(ValueError, match="weight 0 has shape"):
        tanh_depth_profile([np.ones((3, 4)), np.ones((3, 2))], np.ones(3))
    with pytest.raises(ValueError, match="one input vector of length 3"):
        tanh_depth_profile([np.ones((3, 4))], np.ones((2, 3)))


def test_cost_profile():
    model = MLP([4, 32, 3], rng=0)
    profile = cost_profile(lambda: cr.cross_entropy_logits(model(X), Y), repeat=3)
    assert profile.forward_s > 0 and profile.backward_s > 0
    assert profile.ratio == pytest.approx(profile.backward_s / profile.forward_s)
    loss = cr.cross_entropy_logits(model(X), Y)
    assert profile.peak_bytes == memory.saved_bytes(loss)
    assert profile.peak_activation_bytes == memory.saved_bytes(loss, leaves=False)
    assert profile.nodes == 4  # linear, relu, linear, cross_entropy_logits
    assert all(p.grad is None for p in model.parameters())
    assert "backward/forward" in str(profile)
    with pytest.raises(ValueError, match="must return a Tensor that depends"):
        cost_profile(lambda: cr.tensor(1.0))
