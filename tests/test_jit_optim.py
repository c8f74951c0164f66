"""Training steps under chainrule.jit: the MLP step after 10 steps equals eager training, and
the functional optimizers equal the object API (SGD with momentum, Adam), jitted or not."""

from __future__ import annotations

import numpy as np
import pytest
from jit_planning import plan_small_arrays  # noqa: F401  (autouse fixture)

import chainrule as cr
from chainrule.optim import functional as fopt

SIZES = (12, 16, 8, 3)


def init(dtype, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    params = {}
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        params[f"w{i}"] = (rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
        params[f"b{i}"] = (0.1 * rng.standard_normal(b)).astype(dtype)
    return params


def loss_fn(params, x, y):
    h = x
    for i in range(len(SIZES) - 1):
        h = cr.linear(h, params[f"w{i}"], params[f"b{i}"])
        if i < len(SIZES) - 2:
            h = cr.relu(h)
    return cr.cross_entropy_logits(h, y)


def batches(dtype, n: int = 10, batch: int = 7):
    rng = np.random.default_rng(3)
    return [(rng.standard_normal((batch, SIZES[0])).astype(dtype),
             rng.integers(0, SIZES[-1], batch)) for _ in range(n)]


def sgd_step(params, x, y):
    loss, grads = cr.value_and_grad(loss_fn)(params, x, y)
    return cr.tree_map(lambda p, g: p - 0.1 * g, params, grads), loss


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_mlp_sgd_ten_steps_equal_eager(dtype, rtol: float) -> None:
    eager, jitted = init(dtype), init(dtype)
    step = cr.jit(sgd_step, donate_argnums=0)
    for x, y in batches(dtype):
        eager, want = sgd_step(eager, x, y)
        jitted, loss = step(jitted, x, y)
        np.testing.assert_allclose(loss, want, rtol=rtol)
    assert step.traces == 1
    for k in eager:
        assert jitted[k].dtype == dtype
        np.testing.assert_allclose(jitted[k], eager[k], rtol=rtol, atol=rtol)


def object_api_run(make_opt, dtype, steps: int) -> dict:
    params = {k: cr.tensor(v, requires_grad=True) for k, v in init(dtype).items()}
    opt = make_opt(list(params.values()))
    for x, y in batches(dtype, steps):
        loss = loss_fn(params, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {k: v.data for k, v in params.items()}


def functional_run(opt, dtype, steps: int, jit: bool) -> dict:
    def train_step(params, state, x, y):
        grads = cr.grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return fopt.apply_updates(params, updates), state

    step = cr.jit(train_step, donate_argnums=(0, 1)) if jit else train_step
    params = init(dtype)
    state = opt.init(params)
    for x, y in batches(dtype, steps):
        params, state = step(params, state, x, y)
    if jit:
        assert step.traces == 1
    return params


OPTIMIZERS = {
    "sgd": (lambda p: cr.optim.SGD(p, lr=0.05), fopt.sgd(lr=0.05)),
    "momentum": (lambda p: cr.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1,
                                        weight_decay=0.01),
                 fopt.sgd(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "nesterov": (lambda p: cr.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
                 fopt.sgd(lr=0.05, momentum=0.9, nesterov=True)),
    "adam": (lambda p: cr.optim.Adam(p, lr=0.01), fopt.adam(lr=0.01)),
    "adam-amsgrad-wd": (lambda p: cr.optim.Adam(p, lr=0.01, weight_decay=0.1, amsgrad=True,
                                                maximize=True),
                        fopt.adam(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_functional_optimizer_equals_object_api(name: str, dtype, rtol: float,
                                                jit: bool) -> None:
    make_opt, opt = OPTIMIZERS[name]
    want = object_api_run(make_opt, dtype, 6)
    got = functional_run(opt, dtype, 6, jit)
    for k in want:
        assert got[k].dtype == dtype
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=rtol)


def test_functional_optimizer_state_is_a_container() -> None:
    state = fopt.adam().init({"w": np.ones((2, 2), np.float32)})
    assert set(state) == {"step", "m", "v"}
    assert state["m"]["w"].dtype == np.float32 and state["step"] == 0
    with pytest.raises(ValueError, match="Nesterov"):
        fopt.sgd(nesterov=True)


# ----- chainrule train --jit --------------------------------------------------------------
def _printed(capsys, argv: list[str]) -> tuple[int, list[str]]:
    """Exit status and the lines `chainrule train` printed, the timing cut off the last."""
    from chainrule.cli import main

    status = main(["train", "--no-progress", *argv])
    lines = capsys.readouterr().out.splitlines()
    return status, [line.split(" in ")[0] if line.startswith("test accuracy") else line
                    for line in lines]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_train_prints_the_same_numbers_with_and_without_jit(tmp_path, capsys, optimizer,
                                                            monkeypatch) -> None:
    """The main job (batch 32, float32; 32 hidden units to keep it short) for two epochs:
    every printed loss and accuracy is the same with the jitted step, which really ran (one
    trace per batch shape: 32, and the last batch's 6)."""
    import chainrule.train

    traces: list[int] = []

    class Counted(chainrule.train.JitStep):
        def sync(self) -> None:
            traces.append(self.step.traces)
            super().sync()

    monkeypatch.setattr(chainrule.train, "JitStep", Counted)
    argv = ["--epochs", "2", "--hidden", "32", "--optimizer", optimizer]
    status, eager = _printed(capsys, [*argv, "--out", str(tmp_path / "eager"), "--no-jit"])
    assert status == 0 and not traces
    status, jitted = _printed(capsys, [*argv, "--out", str(tmp_path / "jit"), "--jit"])
    assert status == 0 and traces == [2, 2]
    numbers = [line.replace(str(tmp_path / "jit"), str(tmp_path / "eager")) for line in jitted]
    assert sum(line.startswith("epoch") for line in eager) == 2
    assert numbers == eager


def test_train_help_shows_the_jit_flags(capsys) -> None:
    from chainrule.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "--jit, --no-jit" in text and "chainrule.jit" in text


def test_train_refuses_jit_on_a_gpu(tmp_path, capsys) -> None:
    """chainrule.jit traces NumPy arrays only: --device cuda --jit is a one-line error
    (whether or not CuPy is installed), before any training."""
    from chainrule.cli import main

    status = main(["train", "--device", "cuda", "--jit", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert "--jit: chainrule.jit traces NumPy arrays on the CPU only" in err
    assert not (tmp_path / "run").exists()
