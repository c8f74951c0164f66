"""Optimizers: SGD and Adam against torch.optim (float64, same init, same batches),
in-place updates without graph, dtype kept, state dicts, validation."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.optim import SGD, Adam, Optimizer

SIZES = [6, 5, 3]


def _batches(n_steps=5, batch=8, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, SIZES[0])), rng.integers(0, SIZES[-1], batch))
            for _ in range(n_steps)]


def _torch_twin(model):
    """A torch MLP with the same weights (chainrule stores W as (in, out): copy W.T)."""
    torch = pytest.importorskip("torch")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        if i:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(n_in, n_out).double())
    twin = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for name, p in model.named_parameters():
            t = twin.get_parameter(name.removeprefix("layers."))
            t.copy_(torch.from_numpy(p.data.T.copy() if p.ndim == 2 else p.data))
    return twin


def _train_both(make_ours, make_torch, steps=5, **kw):
    torch = pytest.importorskip("torch")
    model = nn.MLP(SIZES, rng=1)
    twin = _torch_twin(model)
    ours, theirs = make_ours(model.parameters(), **kw), make_torch(twin.parameters(), **kw)
    for x, y in _batches(steps):
        ours.zero_grad()
        F.cross_entropy(model(x), y).backward()
        ours.step()
        theirs.zero_grad()
        torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        theirs.step()
    return model, twin


def _max_diff(model, twin):
    diffs = []
    for name, p in model.named_parameters():
        t = twin.get_parameter(name.removeprefix("layers.")).detach().numpy()
        diffs.append(np.max(np.abs(p.data - (t.T if p.ndim == 2 else t))))
    return max(diffs)


SGD_SETTINGS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
    dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05),
    dict(lr=0.1, momentum=0.5, maximize=True),
]
ADAM_SETTINGS = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, maximize=True, weight_decay=0.01),
]


@pytest.mark.parametrize("settings", SGD_SETTINGS)
def test_sgd_matches_torch(settings):
    torch = pytest.importorskip("torch")
    model, twin = _train_both(SGD, torch.optim.SGD, **settings)
    assert _max_diff(model, twin) < 1e-10


@pytest.mark.parametrize("settings", ADAM_SETTINGS)
def test_adam_matches_torch(settings):
    torch = pytest.importorskip("torch")
    model, twin = _train_both(Adam, torch.optim.Adam, **settings)
    assert _max_diff(model, twin) < 1e-10


def test_parameters_actually_move():
    """Guard against a comparison that passes because nothing changed."""
    model = nn.MLP(SIZES, rng=1)
    before = model.state_dict()
    opt = Adam(model.parameters(), lr=0.01)
    for x, y in _batches(2):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    assert all(np.max(np.abs(p.data - before[n])) > 1e-4 for n, p in model.named_parameters())


def test_param_groups_match_torch():
    torch = pytest.importorskip("torch")
    model = nn.MLP(SIZES, rng=2)
    twin = _torch_twin(model)
    first, second = model.layers[0], model.layers[2]
    ours = SGD([{"params": first.parameters()},
                {"params": second.parameters(), "lr": 0.01, "momentum": 0.5}], lr=0.1)
    theirs = torch.optim.SGD([{"params": twin[0].parameters()},
                              {"params": twin[2].parameters(), "lr": 0.01, "momentum": 0.5}],
                             lr=0.1)
    for x, y in _batches(3):
        for opt in (ours, theirs):
            opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        ours.step()
        theirs.step()
    assert _max_diff(model, twin) < 1e-10
    assert ours.param_groups[1]["lr"] == 0.01 and ours.param_groups[0]["momentum"] == 0.0


def test_quadratic_converges_to_minimum():
    """Real numbers without torch: SGD with momentum on 1/2 w^T A w + b^T w."""
    a = np.diag([1.0, 10.0])
    b = np.array([1.0, -2.0])
    w = cr.tensor([3.0, 3.0], requires_grad=True)
    opt = SGD([w], lr=0.05, momentum=0.9)
    for _ in range(600):  # the error shrinks by sqrt(momentum) ~ 0.95 a step
        opt.zero_grad()
        (0.5 * (w @ (cr.tensor(a) @ w)) + (cr.tensor(b) * w).sum()).backward()
        opt.step()
    np.testing.assert_allclose(w.data, -np.linalg.solve(a, b), atol=1e-8)


def test_first_steps_by_hand():
    """SGD momentum and Adam step 1 and 2 from the formulas, with a constant gradient."""
    w = cr.tensor([1.0], requires_grad=True)
    sgd = SGD([w], lr=0.1, momentum=0.9)
    for _ in range(2):
        w.grad = np.array([2.0])
        sgd.step()
    # step 1: b = 2, w = 1 - 0.2; step 2: b = 0.9*2 + 2 = 3.8, w = 0.8 - 0.38
    np.testing.assert_allclose(w.data, [0.42], rtol=1e-15)
    v = cr.tensor([1.0], requires_grad=True)
    adam = Adam([v], lr=0.1)
    v.grad = np.array([2.0])
    adam.step()
    # m_hat = g, v_hat = g^2: the first step is lr * g / (|g| + eps)
    np.testing.assert_allclose(v.data, [1.0 - 0.1 * 2.0 / (2.0 + 1e-8)], rtol=1e-15)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda ps: Adam(ps, lr=0.01, amsgrad=True)])
def test_float32_stays_float32_and_no_graph(make):
    model = nn.MLP(SIZES, rng=3, dtype=np.float32)
    params = list(model.parameters())
    arrays = [p.data for p in params]
    opt = make(params)
    for x, y in _batches(2):
        opt.zero_grad()
        F.cross_entropy(model(x.astype(np.float32)), y).backward()
        opt.step()
    for p, arr in zip(params, arrays, strict=True):
        assert p.dtype == np.float32 and p.is_leaf and p.requires_grad
        assert p.data is arr  # updated in place
    for s in opt.state.values():
        assert all(v.dtype == np.float32 for v in s.values() if isinstance(v, np.ndarray))


def test_step_bumps_version_so_stale_graph_refuses_backward():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    before = w._version
    SGD([w], lr=0.1).step()
    assert w._version == before + 1
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_step_skips_parameters_without_grad_and_runs_closure():
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([5.0], requires_grad=True)
    opt = SGD([a, b], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    with cr.no_grad():
        loss = opt.step(closure)  # the closure still records (enable_grad inside step)
    assert float(loss) == 1.0
    np.testing.assert_array_equal(a.data, [0.0])
    np.testing.assert_array_equal(b.data, [5.0])


def test_zero_grad_modes():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)
    (w * w).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and np.all(grad == 0)
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: Adam(ps, lr=0.01, amsgrad=True)])
def test_state_dict_resumes_exactly(make):
    batches = _batches(5)

    def run(model, opt, part):
        for x, y in part:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

    straight = nn.MLP(SIZES, rng=4)
    run(straight, make(straight.parameters()), batches)

    first = nn.MLP(SIZES, rng=4)
    opt = make(first.parameters())
    run(first, opt, batches[:3])
    saved_model, saved_opt = first.state_dict(), opt.state_dict()
    assert all(isinstance(k, int) for k in saved_opt["state"])
    assert all(isinstance(v, np.ndarray | int | float)
               for s in saved_opt["state"].values() for v in s.values())

    resumed = nn.MLP(SIZES, rng=99)
    resumed.load_state_dict(saved_model)
    opt2 = make(resumed.parameters())
    opt2.load_state_dict(saved_opt)
    run(resumed, opt2, batches[3:])
    for (_, p), (_, q) in zip(straight.named_parameters(), resumed.named_parameters(),
                              strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_is_a_copy_and_load_checks_shapes():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    w.grad = np.ones(2)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["momentum_buffer"][...] = 7
    assert np.all(opt.state[id(w)]["momentum_buffer"] == 1)
    other = SGD([cr.tensor([1.0, 2.0, 3.0], requires_grad=True)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"momentum_buffer' of shape \(2,\).*shape \(3,\)"):
        other.load_state_dict(sd)
    two = SGD([cr.tensor([1.0], requires_grad=True), w], lr=0.1)
    with pytest.raises(ValueError, match=r"saved groups hold \[1\].*hold \[2\]"):
        two.load_state_dict(sd)


def test_bad_settings_and_params_are_refused():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0"):
        SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        SGD([w], lr=-1.0)
    with pytest.raises(ValueError, match="betas must be two numbers"):
        Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty list of parameters"):
        Adam([])
    with pytest.raises(ValueError, match="appears twice"):
        SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="not a Tensor"):
        SGD([np.ones(2)], lr=0.1)


def test_base_class_needs_an_update_rule():
    w = cr.tensor([1.0], requires_grad=True)
    w.grad = np.ones(1)
    with pytest.raises(NotImplementedError, match="define _update"):
        Optimizer([w], {}).step()
