"""Module, Parameter, Linear, Sequential, MLP, activations and initialisation."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3))
        self.fc = nn.Linear(3, 3, rng=0)

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = cr.randn(2, 3, rng=1, requires_grad=True)   # a plain leaf that requires grad
        self.cache = cr.ones(3)                               # no grad: not a parameter
        self.blocks = [Block(), Block()]
        self.heads = {"a": nn.Linear(3, 1, rng=2), "b": (nn.Linear(3, 2, bias=False, rng=3),)}
        self.frozen = nn.Parameter(np.zeros(2), requires_grad=False)
        self.act = nn.Tanh()
        self.label = "not a parameter"

    def forward(self, x):
        h = x @ self.w
        for b in self.blocks:
            h = self.act(b(h))
        return self.heads["a"](h).sum() + self.heads["b"][0](h).sum()


NET_NAMES = ["w", "frozen", "blocks.0.scale", "blocks.0.fc.weight", "blocks.0.fc.bias",
             "blocks.1.scale", "blocks.1.fc.weight", "blocks.1.fc.bias", "heads.a.weight",
             "heads.a.bias", "heads.b.0.weight"]


def test_discovery_through_attributes_lists_dicts_and_nesting():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == NET_NAMES
    assert [n for n, _ in net.named_children()] == ["blocks.0", "blocks.1", "heads.a",
                                                    "heads.b.0", "act"]
    assert [n for n, _ in net.named_modules()] == [
        "", "blocks.0", "blocks.0.fc", "blocks.1", "blocks.1.fc", "heads.a", "heads.b.0", "act"]
    assert len(list(net.modules())) == 8
    params = list(net.parameters())
    assert params[0] is net.w and params[2] is net.blocks[0].scale
    # a tensor computed from parameters is not a parameter
    net.derived = net.w * 2
    assert len(list(net.parameters())) == len(NET_NAMES)


def test_shared_parameters_and_modules_are_listed_once():
    net = nn.Module()
    layer = nn.Linear(2, 2, rng=0)
    net.first, net.again = layer, [layer]
    net.tied = layer.weight
    assert [n for n, _ in net.named_parameters()] == ["tied", "first.bias"]  # under its first name
    assert len(list(net.modules())) == 2


def test_zero_grad_and_backward_reach_every_parameter():
    net = Net()
    net(np.ones((4, 2))).backward()
    grads = {n: p.grad for n, p in net.named_parameters()}
    assert grads["frozen"] is None  # requires no grad
    assert all(g is not None and np.any(g != 0) for n, g in grads.items() if n != "frozen")
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_eval_reach_every_module():
    net = Net()
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_state_dict_is_a_copy_in_order_and_round_trips():
    net, other = Net(), Net()
    for p in other.parameters():
        p.data = p.data + 1.0
    state = net.state_dict()
    assert list(state) == NET_NAMES
    assert all(type(v) is np.ndarray for v in state.values())
    state["w"][...] = 42.0
    assert not np.any(net.w.data == 42.0)
    other.load_state_dict(net.state_dict())
    for (_, p), (_, q) in zip(net.named_parameters(), other.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    version = other.w._version
    other.load_state_dict(net.state_dict())
    assert other.w._version == version + 1  # an in-place change, counted


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    net = Net()
    before = net.state_dict()
    state = net.state_dict()
    del state["w"]
    state["extra.weight"] = np.ones(2)
    state["heads.a.bias"] = np.ones(2)
    state["blocks.0.scale"] = state["blocks.0.scale"].astype(np.float32)
    with pytest.raises(ValueError) as err:
        net.load_state_dict(state)
    msg = str(err.value)
    assert "missing: w" in msg and "unexpected: extra.weight" in msg
    assert "heads.a.bias: expected shape (1,) dtype float64, got shape (2,) dtype float64" in msg
    assert "blocks.0.scale: expected shape (3,) dtype float64, got shape (3,) dtype float32" in msg
    for name, p in net.named_parameters():
        np.testing.assert_array_equal(p.data, before[name])
    partial = {"w": before["w"] * 0}
    net.load_state_dict(partial, strict=False)
    assert np.all(net.w.data == 0)


def test_repr_is_nested_like_pytorch():
    model = nn.MLP([4, 3, 2], activation="tanh", rng=0, dtype=np.float32)
    assert repr(model) == (
        "MLP(\n"
        "  (layers): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=3, bias=True, dtype=float32)\n"
        "    (1): Tanh()\n"
        "    (2): Linear(in_features=3, out_features=2, bias=True, dtype=float32)\n"
        "  )\n"
        ")")
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.Parameter([1.0])).startswith("Parameter containing:\ntensor([1.]")


def test_parameter_is_a_thin_tensor():
    data = np.arange(3.0)
    p = nn.Parameter(data)
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    data[0] = 9.0
    assert p.data[0] == 0.0  # made by copying
    out = p * 2
    assert type(out) is cr.Tensor
    out.sum().backward()
    np.testing.assert_array_equal(p.grad, [2.0, 2.0, 2.0])
    with pytest.raises(AttributeError):
        p.extra = 1  # __slots__: no per-instance dict


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module: define forward"):
        nn.Module()(1.0)


# ----- layers ---------------------------------------------------------------
def test_linear_forward_is_x_at_w_plus_b():
    layer = nn.Linear(5, 3, rng=0)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (3,)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    x = np.random.default_rng(1).standard_normal((4, 5))
    layer.bias.data = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data + layer.bias.data)
    no_bias = nn.Linear(5, 3, bias=False, rng=0)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    np.testing.assert_array_equal(no_bias(x).data, x @ no_bias.weight.data)


def test_linear_float32_through_forward_and_backward():
    layer = nn.Linear(6, 4, rng=0, dtype=np.float32)
    x = cr.tensor(np.ones((3, 6)), dtype=np.float32, requires_grad=True)
    y = layer(x)
    assert y.dtype == np.float32
    F.cross_entropy(y, np.array([0, 1, 3])).backward()
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32
    assert x.grad.dtype == np.float32


def test_linear_seeding():
    a, b = nn.Linear(8, 4, rng=7), nn.Linear(8, 4, rng=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    c = nn.Linear(8, 4, rng=7, dtype=np.float32)
    np.testing.assert_array_equal(c.weight.data, a.weight.data.astype(np.float32))
    gen = np.random.default_rng(7)
    d, e = nn.Linear(8, 4, rng=gen), nn.Linear(8, 4, rng=gen)
    np.testing.assert_array_equal(d.weight.data, a.weight.data)
    assert not np.array_equal(d.weight.data, e.weight.data)  # one generator, drawn in turn
    cr.manual_seed(3)
    f = nn.Linear(8, 4)
    cr.manual_seed(3)
    np.testing.assert_array_equal(nn.Linear(8, 4).weight.data, f.weight.data)


FAN_IN, FAN_OUT = 800, 400


@pytest.mark.parametrize("scheme, std, bound", [
    ("kaiming", math.sqrt(2 / FAN_IN), math.sqrt(6 / FAN_IN)),
    ("kaiming_normal", math.sqrt(2 / FAN_IN), None),
    ("xavier", math.sqrt(2 / (FAN_IN + FAN_OUT)), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("xavier_normal", math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    ("torch", 1 / math.sqrt(3 * FAN_IN), 1 / math.sqrt(FAN_IN)),
])
def test_init_statistics(scheme, std, bound):
    layer = nn.Linear(FAN_IN, FAN_OUT, init=scheme, rng=0)
    w = layer.weight.data
    # 320,000 samples: the sample std is within ~0.3% of the true one
    assert abs(w.std() / std - 1) < 0.01
    assert abs(w.mean()) < 0.01 * std
    if bound is None:  # normal: about 4.55% of samples beyond 2 std
        assert abs(np.mean(np.abs(w) > 2 * std) - 0.0455) < 0.003
    else:              # uniform: fills (-bound, bound) and never leaves it
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    b = layer.bias.data
    if scheme == "torch":
        assert np.abs(b).max() <= 1 / math.sqrt(FAN_IN) and b.std() > 0
    else:
        assert np.all(b == 0)


def test_linear_rejects_bad_arguments():
    with pytest.raises(ValueError, match="in_features must be a positive integer, got 0"):
        nn.Linear(0, 3)
    with pytest.raises(TypeError, match="dtype must be a floating-point type.*int64"):
        nn.Linear(2, 3, dtype=np.int64)
    with pytest.raises(ValueError, match="unknown scheme 'he'; choose one of kaiming"):
        nn.Linear(2, 3, init="he")
    with pytest.raises(ValueError, match=r"matmul: \(4, 5\) @ \(2, 3\): inner dimensions"):
        nn.Linear(2, 3)(np.ones((4, 5)))


def test_sequential_behaves_like_a_list():
    a, b, c = nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(3, 1, rng=1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and list(seq) == [a, b, c] and seq[-1] is c
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_allclose(seq(x).data, c(b(a(x))).data)
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [b, c]
    with pytest.raises(TypeError, match="Sequential: expected a Module, got function"):
        nn.Sequential(a, lambda x: x)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", nn.Tanh])
def test_mlp_matches_torch(activation):
    torch = pytest.importorskip("torch")
    model = nn.MLP([5, 7, 6, 3], activation=activation, rng=0)
    name = activation if isinstance(activation, str) else "tanh"
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    twin = torch.nn.Sequential(torch.nn.Linear(5, 7), acts[name](), torch.nn.Linear(7, 6),
                               acts[name](), torch.nn.Linear(6, 3)).double()
    with torch.no_grad():
        for n, p in model.named_parameters():
            twin.get_parameter(n.removeprefix("layers.")).copy_(torch.from_numpy(p.data.T))
    x = np.random.default_rng(1).standard_normal((4, 5))
    y = np.array([0, 2, 1, 2])
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    ref = torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y))
    ref.backward()
    np.testing.assert_allclose(float(loss), ref.item(), rtol=1e-13)
    for n, p in model.named_parameters():
        t = twin.get_parameter(n.removeprefix("layers.")).grad.numpy()
        np.testing.assert_allclose(p.grad, t.T, rtol=1e-10, atol=1e-14)


def test_mlp_structure_and_default_init():
    relu = nn.MLP([784, 128, 2], rng=0)
    assert [type(m).__name__ for m in relu.layers] == ["Linear", "ReLU", "Linear"]
    assert abs(relu.layers[0].weight.data.std() / math.sqrt(2 / 784) - 1) < 0.02
    tanh = nn.MLP([784, 128, 2], activation="tanh", rng=0)
    assert abs(tanh.layers[0].weight.data.std() / math.sqrt(2 / (784 + 128)) - 1) < 0.02
    assert nn.MLP([3, 2], rng=0).layers[0].in_features == 3  # one layer, no activation
    with pytest.raises(ValueError, match="unknown activation 'gelu'; choose one of relu"):
        nn.MLP([3, 2, 1], activation="gelu")
    with pytest.raises(TypeError, match=r"pass the activation's class \(ReLU\), not an instance"):
        nn.MLP([3, 2, 1], activation=nn.ReLU())
    with pytest.raises(ValueError, match="at least an input and an output size"):
        nn.MLP([3])


def test_activation_modules():
    x = np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0])
    np.testing.assert_array_equal(nn.ReLU()(x), np.maximum(x, 0))
    np.testing.assert_allclose(nn.Tanh()(x), np.tanh(x))
    np.testing.assert_allclose(nn.Sigmoid()(x), [0.0, 1 / (1 + math.e), 0.5,
                                                 1 / (1 + math.exp(-2)), 1.0])
    assert list(nn.ReLU().parameters()) == []
