"""Devices: ``tensor(x, device="cuda")``, ``t.to``, ``t.cpu()``, mixing devices, and the
engine (functional transforms, checkpointing, training with nn and optim, a user's
primitive) on the CuPy stand-in of ``tests/standin_array.py``: every result stays on the
device, equals NumPy's, and a training step waits for the device once (the printed loss).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from standin_array import DeviceArray, installed, namespace

import chainrule as cr
from chainrule import backend, nn, optim
from chainrule.backend import DeviceError


@pytest.fixture
def syncs():
    with installed() as counter:
        yield counter


def host(x: object) -> np.ndarray:
    """A device result, checked to be on the device, copied to the host."""
    data = x.data if isinstance(x, cr.Tensor) else x
    assert type(data) is DeviceArray, f"{type(data).__name__} is not on the device"
    return namespace.asnumpy(data)


X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


# ----- the device API ----------------------------------------------------------------------
def test_tensor_on_a_device_keeps_its_array_there(syncs) -> None:
    t = cr.tensor(X, device="cuda", requires_grad=True)
    assert t.device == "cuda:0" and type(t.data) is DeviceArray
    assert cr.tensor(X).device == "cpu"
    assert cr.zeros(2, 3, device="cuda").device == "cuda:0"
    assert cr.ones_like(t).device == "cuda:0" and cr.randn(4, rng=0, device="cuda").shape == (4,)
    np.testing.assert_array_equal(host(cr.randn(4, rng=0, device="cuda")),
                                  cr.randn(4, rng=0).data)  # a seed: the same numbers
    assert "device='cuda:0'" in repr(t)
    assert syncs.count == 0


def test_to_and_cpu_move_data_and_gradients_flow_back(syncs) -> None:
    x = cr.tensor(X, requires_grad=True)
    d = x.to("cuda")
    assert d.device == "cuda:0" and d.to("cuda") is d and x.to("cpu") is x
    y = (cr.sin(d) * 3.0).sum().cpu()
    assert type(y.data) is np.ndarray
    y.backward()
    assert type(x.grad) is np.ndarray  # the gradient came home with the cotangent
    np.testing.assert_allclose(x.grad, 3 * np.cos(X), rtol=1e-15)


def test_mixing_devices_names_the_operation_and_both_devices(syncs) -> None:
    a, b = cr.tensor(X, device="cuda"), cr.tensor(X)
    with pytest.raises(DeviceError, match=r"add: .*cuda:0.*cpu"):
        a + b
    with pytest.raises(DeviceError, match=r"matmul: .*cpu.*cuda:0"):
        b.T @ a


def test_host_conversions_are_refused_with_a_way_out(syncs) -> None:
    t = cr.tensor(X, device="cuda")
    with pytest.raises(TypeError, match=r"cuda:0.*t\.cpu\(\)\.numpy\(\)"):
        t.numpy()
    with pytest.raises(TypeError, match=r"cuda:0.*t\.cpu\(\)"):
        np.asarray(t)
    np.testing.assert_array_equal(t.cpu().numpy(), X)


def test_without_cupy_asking_for_cuda_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # an import of cupy fails
    monkeypatch.delitem(backend._DEVICES, "cuda", raising=False)
    with pytest.raises(DeviceError, match=r"pip install 'chainrule\[gpu\]'"):
        cr.tensor(X, device="cuda")
    with pytest.raises(ValueError, match="device"):
        cr.tensor(X, device="tpu")


def test_the_train_command_refuses_cuda_without_cupy(monkeypatch, capsys) -> None:
    from chainrule.cli import main

    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.delitem(backend._DEVICES, "cuda", raising=False)
    assert main(["train", "--device", "cuda", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cupy-cuda12x" in err


# ----- the functional API and checkpointing on the device -----------------------------------
def f(x):
    return cr.sum(cr.tanh(x) ** 2 * cr.exp(x[..., :1]))


@pytest.mark.parametrize("transform", ["grad", "hessian", "jacrev", "jvp"])
def test_functional_transforms_on_the_device_match_numpy(syncs, transform: str) -> None:
    def run(x, v):
        if transform == "jvp":
            return cr.jvp(lambda y: cr.tanh(y) * y, (x,), (v,))[1]
        if transform == "jacrev":
            return cr.jacrev(lambda y: cr.tanh(y) * y[..., ::-1])(x)
        return getattr(cr, transform)(f)(x)

    v = np.full(X.shape, 0.5)
    want = run(X, v)
    got = run(namespace.asarray(X), namespace.asarray(v))
    np.testing.assert_allclose(host(got), want, rtol=1e-13)
    assert syncs.count == 0


def test_checkpoint_on_the_device_matches_numpy(syncs) -> None:
    def block(x):
        return cr.sin(x) @ cr.cos(x).T

    grads = []
    for device in (None, "cuda"):
        x = cr.tensor(X, requires_grad=True, device=device)
        cr.checkpoint(block, x).sum().backward()
        grads.append(x.grad)
    np.testing.assert_allclose(host(grads[1]), grads[0], rtol=1e-13)
    assert syncs.count == 0


def test_a_user_primitive_that_speaks_numpy_runs_on_the_device(syncs) -> None:
    @cr.primitive
    def softsign(x):
        return x / (1 + np.abs(x))

    softsign.defvjp(lambda g, ans, x: g / (1 + cr.abs(x)) ** 2)  # d x/(1+|x|) = dx/(1+|x|)^2
    x = cr.tensor(X, requires_grad=True, device="cuda")
    y = softsign(x)
    assert type(y.data) is DeviceArray
    y.sum().backward()
    np.testing.assert_allclose(host(y), X / (1 + np.abs(X)), rtol=1e-15)
    np.testing.assert_allclose(host(x.grad), 1 / (1 + np.abs(X)) ** 2, rtol=1e-15)


# ----- training: nn and optim, one host sync per step ---------------------------------------
@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=1e-2, amsgrad=True),
], ids=["sgd", "adam"])
def test_training_steps_on_the_device_match_numpy_with_one_sync_each(syncs, make_opt) -> None:
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((4, 16, 5)), rng.integers(0, 3, (4, 16))
    runs = {}
    for device in ("cpu", "cuda"):
        model = nn.MLP([5, 8, 3], rng=1).to(device)
        opt = make_opt(model.parameters())
        losses = []
        syncs.reset()
        for x, y in zip(xs, ys):
            loss = nn.functional.cross_entropy(model(backend.to_device(x, device)), y)
            losses.append(loss.item())  # the one sync of a step
            opt.zero_grad()
            loss.backward()
            opt.step()
        runs[device] = (losses, {k: backend.to_numpy(v) for k, v in model.state_dict().items()})
        if device == "cuda":
            assert syncs.count == len(xs), syncs.where
            assert all(type(p.data) is DeviceArray for p in model.parameters())
    np.testing.assert_allclose(runs["cuda"][0], runs["cpu"][0], rtol=1e-12)
    for name, value in runs["cpu"][1].items():
        np.testing.assert_allclose(runs["cuda"][1][name], value, rtol=1e-12, err_msg=name)


def test_losses_and_a_saved_model_from_the_device(syncs, tmp_path) -> None:
    pred, target = np.linspace(-1, 1, 6).reshape(2, 3), np.ones((2, 3))
    for loss in (nn.functional.mse_loss, nn.functional.binary_cross_entropy_with_logits):
        got = loss(cr.tensor(pred, device="cuda"), namespace.asarray(target))
        np.testing.assert_allclose(host(got), loss(cr.tensor(pred), target).data, rtol=1e-15)
    model = nn.MLP([3, 4, 2], rng=0).cuda()
    model.save(tmp_path / "m.npz")
    back = nn.MLP([3, 4, 2], rng=5).load(tmp_path / "m.npz")
    for (name, p), q in zip(model.named_parameters(), back.parameters(), strict=True):
        np.testing.assert_array_equal(host(p), q.data, err_msg=name)
    assert syncs.count == 0
