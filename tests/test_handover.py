"""Handing over to PyTorch and JAX: DLPack both ways without a copy, and a chainrule model
to ``torch.nn`` and back (``to_torch`` / ``Module.from_torch``) with identical outputs and
gradients."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def test_from_dlpack_shares_a_torch_tensors_memory() -> None:
    source = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    t = cr.from_dlpack(source)
    assert t.device == "cpu" and t.dtype == np.float64 and t.shape == (2, 3)
    assert np.shares_memory(t.data, source.numpy())
    source[0, 0] = 42.0  # no copy: a change through either is seen by both
    assert t.data[0, 0] == 42.0


def test_from_dlpack_shares_a_numpy_arrays_memory_and_can_require_grad() -> None:
    a = np.linspace(0.0, 1.0, 5, dtype=np.float32)
    t = cr.from_dlpack(a, requires_grad=True)
    assert np.shares_memory(t.data, a) and t.dtype == np.float32
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad, 2 * a)


def test_torch_reads_a_tensor_through_dlpack_without_a_copy() -> None:
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    theirs = torch.from_dlpack(t)
    assert theirs.dtype == torch.float64 and np.shares_memory(theirs.numpy(), t.data)
    assert t.__dlpack_device__() == (1, 0)  # kDLCPU, device 0


def test_dlpack_refuses_a_tensor_that_requires_grad() -> None:
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"requires grad.*detach"):
        torch.from_dlpack(t)
    assert np.shares_memory(torch.from_dlpack(t.detach()).numpy(), t.data)


def test_from_dlpack_refuses_what_has_no_dlpack() -> None:
    with pytest.raises(TypeError, match="from_dlpack: list"):
        cr.from_dlpack([1.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_to_torch_and_back_gives_identical_outputs_and_gradients(dtype) -> None:
    model = nn.MLP([4, 7, 5, 3], activation="tanh", rng=0, dtype=dtype)
    back = nn.Module.from_torch(model.to_torch())
    assert isinstance(back, nn.Sequential)
    x = np.random.default_rng(1).standard_normal((6, 4)).astype(dtype)
    y = np.array([0, 2, 1, 1, 0, 2])
    outs = []
    for m in (model, back):
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        outs.append((loss, dict(m.named_parameters())))
    (loss_a, params_a), (loss_b, params_b) = outs
    assert loss_a.item() == loss_b.item()
    for na, nb in zip(params_a, params_b, strict=True):  # "layers.0.weight" vs "0.weight"
        pa, pb = params_a[na], params_b[nb]
        assert pb.dtype == dtype and not np.shares_memory(pa.data, pb.data)  # copies
        np.testing.assert_array_equal(pb.data, pa.data, err_msg=na)
        np.testing.assert_array_equal(pb.grad, pa.grad, err_msg=na)


def test_from_torch_matches_torch_itself() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2),
                              torch.nn.Sigmoid()).double()
    ours = nn.Module.from_torch(net)
    x = np.random.default_rng(2).standard_normal((4, 3))
    tx = torch.from_numpy(x).requires_grad_()
    net(tx).sum().backward()
    cx = cr.tensor(x, requires_grad=True)
    out = ours(cx)
    out.sum().backward()
    np.testing.assert_allclose(out.data, net(tx).detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(cx.grad, tx.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(ours[0].weight.grad, net[0].weight.grad.numpy().T, rtol=1e-14)


def test_from_torch_names_what_it_cannot_convert() -> None:
    with pytest.raises(TypeError, match="from_torch: no chainrule equivalent for Conv1d"):
        nn.Module.from_torch(torch.nn.Conv1d(1, 1, 3))
