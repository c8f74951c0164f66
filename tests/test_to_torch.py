"""``Module.to_torch()``: the same function in PyTorch, value and gradients, for MLPs of several
shapes and activations, in float64 and float32; and the gradient check of ``chainrule train``
run through it."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.torch_export import torch_gradients
from chainrule.ops import nn as ops_nn
from chainrule.train import compare_gradients_with_torch

torch = pytest.importorskip("torch")

SHAPES = [[3, 2], [5, 4, 3], [7, 16, 8, 2], [1, 1, 1]]


def loss_of(out: object, weights: np.ndarray) -> object:
    return (out * weights).sum()  # a random cotangent: every output entry counts


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("sizes", SHAPES, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_outputs_and_gradients_match_float64(sizes, activation, bias):
    model = nn.MLP(sizes, activation=activation, bias=bias, rng=len(sizes))
    net = model.to_torch()
    rng = np.random.default_rng(sum(sizes))
    x = rng.standard_normal((6, sizes[0]))
    w = rng.standard_normal((6, sizes[-1]))
    xt = cr.tensor(x, requires_grad=True)
    out = model(xt)
    loss_of(out, w).backward()
    tx = torch.tensor(x, requires_grad=True)
    tout = net(tx)
    loss_of(tout, torch.from_numpy(w)).backward()

    assert tout.dtype == torch.float64
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-15)
    theirs = torch_gradients(model, net)
    assert list(theirs) == [name for name, _ in model.named_parameters()]
    for name, p in model.named_parameters():
        assert theirs[name].shape == p.shape, name
        np.testing.assert_allclose(p.grad, theirs[name], rtol=1e-12, atol=1e-15, err_msg=name)


def test_layout_dtype_and_independent_copies():
    model = nn.MLP([4, 3, 2], activation="tanh", rng=0, dtype=np.float32)
    net = model.to_torch()
    assert [type(m).__name__ for m in net] == ["Linear", "Tanh", "Linear"]
    first = model.layers[0]
    assert net[0].weight.shape == (3, 4) and net[0].weight.dtype == torch.float32
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), first.weight.data.T)
    np.testing.assert_array_equal(net[0].bias.detach().numpy(), first.bias.data)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    assert net(torch.from_numpy(x)).dtype == torch.float32
    np.testing.assert_allclose(model(x).data, net(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    before = first.weight.data.copy()
    with torch.no_grad():
        net[0].weight.add_(1.0)  # changing PyTorch's copy leaves chainrule's model alone
    np.testing.assert_array_equal(first.weight.data, before)


def test_single_layers_and_sequential():
    lin = nn.Linear(3, 2, rng=0)
    assert isinstance(lin.to_torch(), torch.nn.Linear)
    assert isinstance(nn.ReLU().to_torch(), torch.nn.ReLU)
    seq = nn.Sequential(nn.Linear(3, 4, rng=1), nn.Sigmoid(), nn.Linear(4, 1, rng=2))
    x = np.random.default_rng(2).standard_normal((2, 3))
    np.testing.assert_allclose(seq(x).data, seq.to_torch()(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-12)


def test_unsupported_module_is_named():
    class Scale(nn.Module):
        def forward(self, x):
            return 2 * x

    with pytest.raises(TypeError, match="to_torch: no PyTorch equivalent for Scale"):
        nn.Sequential(nn.Linear(2, 2), Scale()).to_torch()


def test_gradient_check_runs_the_model_itself(monkeypatch):
    """The check goes through the model's own forward (the fused ``linear`` primitive), not a
    rebuilt ``h @ W + b``: break ``linear``'s weight rule and the check fails."""
    model = nn.MLP([6, 5, 2], rng=0, dtype=np.float32)
    x = np.random.default_rng(0).random((8, 6), dtype=np.float32)
    y = np.arange(8) % 2
    good = compare_gradients_with_torch(model, x, y)
    assert good["status"] == "passed" and good["max_relative_error"] < 1e-12
    assert model.layers[0].weight.dtype == np.float32 and model.layers[0].weight.grad is None

    linear = ops_nn.linear
    rules = list(linear.vjps)
    rules[1] = lambda g, ans, x, w, b, _rule=rules[1]: 1.01 * _rule(g, ans, x, w, b)
    monkeypatch.setattr(linear, "vjps", tuple(rules))
    bad = compare_gradients_with_torch(model, x, y)
    assert bad["status"] == "failed" and bad["max_relative_error"] > 5e-3
