"""Losses and softmax of chainrule.nn.functional: values and gradients against PyTorch
(float64) and central differences, every reduction, stability, and error messages."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]
RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((6, 4)) * 3
LABELS = RNG.integers(0, 4, 6)
PROBS = RNG.dirichlet(np.ones(4), 6)
PRED = RNG.standard_normal((3, 5))
TARGET = RNG.standard_normal((3, 5))
BIN_TARGET = RNG.random((3, 5))
SIGNS = RNG.choice([-1, 1], (3, 5))


def _ours(loss_fn, x, *rest, reduction):
    """Value and gradient (of sum(loss * cotangent)) with respect to the first argument."""
    t = cr.tensor(x, requires_grad=True)
    out = loss_fn(t, *rest, reduction=reduction)
    cot = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
    (out * cot).sum().backward()
    return out.data, t.grad, cot


def _theirs(torch_fn, x, *rest, reduction, cot):
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, requires_grad=True)
    out = torch_fn(t, *[torch.as_tensor(r) for r in rest], reduction=reduction)
    (out * torch.as_tensor(cot)).sum().backward()
    return out.detach().numpy(), t.grad.numpy()


def _central(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _torch_losses():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional

    def ce_probs(z, p, reduction):
        return tf.cross_entropy(z, p, reduction=reduction)

    return {
        "mse": (F.mse_loss, tf.mse_loss, PRED, TARGET),
        "ce_labels": (F.cross_entropy, tf.cross_entropy, LOGITS, LABELS),
        "ce_probs": (F.cross_entropy, ce_probs, LOGITS, PROBS),
        "nll": (F.nll_loss, tf.nll_loss, np.log(PROBS), LABELS),
        "bce": (F.binary_cross_entropy_with_logits, tf.binary_cross_entropy_with_logits,
                PRED * 4, BIN_TARGET),
        "logistic": (F.logistic_loss, tf.soft_margin_loss, PRED * 4, SIGNS.astype(float)),
    }


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse", "ce_labels", "ce_probs", "nll", "bce", "logistic"])
def test_loss_matches_torch(name, reduction):
    ours_fn, torch_fn, x, target = _torch_losses()[name]
    value, grad, cot = _ours(ours_fn, x, target, reduction=reduction)
    ref_value, ref_grad = _theirs(torch_fn, x, target, reduction=reduction, cot=cot)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-14)
    assert np.max(np.abs(grad)) > 1e-3


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 7), c=st.integers(1, 6), scale=st.sampled_from([0.1, 1.0, 30.0, 500.0]),
       reduction=st.sampled_from(REDUCTIONS), seed=st.integers(0, 2**16))
# logits near 500, 12 apart: a log-probability near 0 must not carry the max's rounding
@example(n=1, c=2, scale=500.0, reduction="sum", seed=7918)
def test_cross_entropy_any_shape_and_scale_matches_torch(n, c, scale, reduction, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c)) * scale
    labels = rng.integers(0, c, n)
    value, grad, cot = _ours(F.cross_entropy, logits, labels, reduction=reduction)
    ref_value, ref_grad = _theirs(_torch_losses()["ce_labels"][1], logits, labels,
                                  reduction=reduction, cot=cot)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12, atol=1e-12)
    # entries are softmax probabilities (minus one-hot), at most 1 in size: rounding in the
    # tiny ones (1e-12 of a logit 500 away) is absolute, about 1e-16 of the largest entry
    scale = max(float(np.max(np.abs(ref_grad))), 1e-300)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12 * scale)


@pytest.mark.parametrize("fn, x, target", [
    (F.cross_entropy, LOGITS, LABELS),
    (F.cross_entropy, LOGITS, PROBS),
    (F.binary_cross_entropy_with_logits, PRED, BIN_TARGET),
    (F.logistic_loss, PRED, SIGNS),
    (F.mse_loss, PRED, TARGET),
])
def test_loss_gradient_matches_central_differences(fn, x, target):
    t = cr.tensor(x, requires_grad=True)
    fn(t, target).backward()
    numeric = _central(lambda z: float(fn(z, target)), x)
    np.testing.assert_allclose(t.grad, numeric, rtol=1e-6, atol=1e-8)


def test_cross_entropy_known_value_and_gradient():
    """The chapter's exercise: z = (1, 2, 3), y = class 1: loss = logsumexp(z) - 2,
    gradient softmax(z) - onehot(y)."""
    z = cr.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    loss = F.cross_entropy(z, np.array([1]))
    loss.backward()
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(float(loss), np.log(np.exp([1.0, 2.0, 3.0]).sum()) - 2.0)
    np.testing.assert_allclose(z.grad[0], p - [0.0, 1.0, 0.0], rtol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_stable_at_extreme_logits(reduction):
    z = cr.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]], requires_grad=True)
    loss = F.cross_entropy(z, np.array([1, 2]), reduction=reduction)
    loss.sum().backward()
    expected = np.array([2000.0, 1.0 + np.log1p(np.exp(-1.0))])
    want = {"mean": expected.mean(), "sum": expected.sum(), "none": expected}[reduction]
    np.testing.assert_allclose(loss.data, want, rtol=1e-12)
    assert np.all(np.isfinite(z.grad))
    scale = 0.5 if reduction == "mean" else 1.0
    s = 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(z.grad, scale * np.array([[1.0, -1.0, 0.0], [0.0, s, -s]]),
                               atol=1e-12)


def test_soft_targets_and_bce_stable_at_extreme_logits():
    z = cr.tensor([[1000.0, -1000.0]], requires_grad=True)
    loss = F.cross_entropy(z, np.array([[0.25, 0.75]]))
    loss.backward()
    np.testing.assert_allclose(float(loss), 0.75 * 2000.0)
    np.testing.assert_allclose(z.grad, [[0.75, -0.75]])
    b = cr.tensor([1000.0, -1000.0, 1000.0], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(b, np.array([1.0, 0.0, 0.0]), reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 1000.0])
    np.testing.assert_allclose(b.grad, [0.0, 0.0, 1.0])
    m = cr.tensor([1000.0, -1000.0], requires_grad=True)
    loss = F.logistic_loss(m, reduction="sum")
    loss.backward()
    np.testing.assert_allclose(float(loss), 1000.0)
    np.testing.assert_allclose(m.grad, [0.0, -1.0])


def test_logistic_loss_three_forms_agree():
    """log(1 + exp(-y w.x)) and its gradient -y s(-y w.x) x (the chapter's exercise)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 3))
    y = rng.choice([-1.0, 1.0], 7)
    w = cr.tensor(rng.standard_normal(3), requires_grad=True)
    loss = F.logistic_loss(w, x, y)
    loss.backward()
    z = x @ w.data
    np.testing.assert_allclose(float(loss), np.mean(np.log1p(np.exp(-y * z))), rtol=1e-14)
    s = 1 / (1 + np.exp(y * z))
    np.testing.assert_allclose(w.grad, np.mean((-y * s)[:, None] * x, axis=0), rtol=1e-12)
    np.testing.assert_allclose(float(F.logistic_loss(z, y)), float(loss), rtol=1e-15)
    np.testing.assert_allclose(float(F.logistic_loss(y * z)), float(loss), rtol=1e-15)


def test_softmax_and_log_softmax_reexported_and_match_torch():
    torch = pytest.importorskip("torch")
    z = cr.tensor(LOGITS, requires_grad=True)
    F.log_softmax(z, axis=1).sum().backward()
    zt = torch.tensor(LOGITS, requires_grad=True)
    torch.log_softmax(zt, 1).sum().backward()
    np.testing.assert_allclose(z.grad, zt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(F.softmax(LOGITS, axis=0), torch.softmax(torch.tensor(LOGITS), 0),
                               rtol=1e-14)
    assert F.softmax is cr.softmax and F.log_softmax is cr.log_softmax


@pytest.mark.parametrize("fn, target", [
    (F.cross_entropy, LABELS), (F.cross_entropy, PROBS), (F.mse_loss, LOGITS),
    (F.binary_cross_entropy_with_logits, PROBS),
])
def test_float32_stays_float32(fn, target):
    """The gradient is computed in float32 (seen by a hook, before the engine casts it to the
    leaf's dtype) and agrees with the float64 one to float32 precision."""
    for reduction in REDUCTIONS:
        z = cr.tensor(LOGITS, dtype=np.float32, requires_grad=True)
        arrived = []
        z.register_hook(lambda g, seen=arrived: seen.append(np.asarray(g).dtype))
        loss = fn(z, target, reduction=reduction)
        assert loss.dtype == np.float32
        loss.sum().backward()
        assert arrived == [np.float32], (reduction, arrived)
        wide = cr.tensor(LOGITS, requires_grad=True)
        fn(wide, target, reduction=reduction).sum().backward()
        np.testing.assert_allclose(z.grad, wide.grad, rtol=1e-5, atol=1e-6)


def test_errors_name_the_problem():
    z = cr.tensor(LOGITS, requires_grad=True)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\), got \[-1, 7\]"):
        F.cross_entropy(z, np.array([0, 7, 1, -1, 2, 3]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\), got \[4\]"):
        F.nll_loss(z, np.array([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ValueError, match=r"labels of shape \(5,\) for 6 examples.*\(6,\)"):
        F.cross_entropy(z, LABELS[:5])
    with pytest.raises(TypeError, match="labels must be integers, got dtype float64"):
        F.cross_entropy(z, LABELS.astype(float))
    with pytest.raises(ValueError, match=r"probability targets of shape \(6, 3\).*\(6, 4\)"):
        F.cross_entropy(z, PROBS[:, :3])
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\), got \(24,\)"):
        F.cross_entropy(z.reshape(24), LABELS)
    with pytest.raises(ValueError, match=r"mse_loss: prediction of shape \(6, 4\) and target "
                                         r"of shape \(4,\) differ"):
        F.mse_loss(z, np.ones(4))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: prediction of shape"):
        F.binary_cross_entropy_with_logits(z, np.ones((4, 6)))
    with pytest.raises(ValueError, match=r"labels must be -1 or \+1, got \[0.0\]"):
        F.logistic_loss(z, np.zeros((6, 4)))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(z, LABELS, reduction="avg")
    with pytest.raises(TypeError, match=r"takes \(margins\), \(z, y\) or \(w, x, y\)"):
        F.logistic_loss(z, z, z, z)
