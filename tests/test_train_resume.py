"""The main job loses no work: the run folder is checked first, kept after every epoch,
resumable with the numbers of an uninterrupted run, and a diverging loss stops training;
all of it with the eager step and with the jitted one (``--jit``), which keep the run folder
in one format, so a run resumes in the other mode."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule import runfolder
from chainrule.cli import main
from chainrule.train import TrainConfig, train

SMALL = dict(hidden=(16,), batch_size=256, progress=False)
LR = {"adam": 1e-3, "sgd": 0.05}


def _quiet(*_: object) -> None:
    pass


def _params(out: Path) -> dict[str, np.ndarray]:
    with np.load(out / "model.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


class _StopAfter:
    """A log that interrupts the run (as Ctrl-C does) once ``epoch`` has been reported."""

    def __init__(self, epoch: int) -> None:
        self.line = f"epoch {epoch:2d}"

    def __call__(self, text: str) -> None:
        if text.startswith(self.line):
            raise KeyboardInterrupt


def _checkpoint(out: Path) -> dict[str, np.ndarray]:
    """The checkpoint's arrays: parameters and optimizer state (not the meta text)."""
    with np.load(out / "checkpoint.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files if k != "meta"}


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_interrupted_then_resumed_run_ends_with_the_uninterrupted_parameters(tmp_path,
                                                                           optimizer, jit):
    whole = train(TrainConfig(epochs=4, optimizer=optimizer, out=str(tmp_path / "whole"),
                              lr=LR[optimizer], jit=jit, **SMALL), log=_quiet)
    config = dict(epochs=4, optimizer=optimizer, out=str(tmp_path / "cut"),
                  lr=LR[optimizer], jit=jit, **SMALL)
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(**config), log=_StopAfter(2))
    kept = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert kept["epochs_done"] == 2 and len(kept["train_loss"]) == 2
    resumed = train(TrainConfig(**config), log=_quiet, resume=True)
    assert resumed.train_loss == whole.train_loss
    assert resumed.test_accuracy == whole.test_accuracy
    a, b = _checkpoint(tmp_path / "whole"), _checkpoint(tmp_path / "cut")
    assert a.keys() == b.keys()
    for k in a:  # parameters and optimizer state, bit for bit
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize("first, then", [(True, False), (False, True)],
                         ids=["jit-then-eager", "eager-then-jit"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_run_resumes_in_the_other_mode(tmp_path, optimizer, first, then):
    """The jitted step's parameters and functional optimizer state go into the run folder
    under the object optimizer's names (``optim/<index>/step``, ``exp_avg``, ``exp_avg_sq``,
    ``momentum_buffer``), so either mode continues the other's run. Compared with an
    uninterrupted eager run to float32 rounding (rtol 1e-5, chainrule.jit's promise): the
    replay's fused in-place lines may round differently from eager NumPy (on this config
    they agree bit for bit)."""
    base = dict(epochs=4, optimizer=optimizer, lr=LR[optimizer], **SMALL)
    whole = train(TrainConfig(out=str(tmp_path / "whole"), jit=False, **base), log=_quiet)
    cut = str(tmp_path / "cut")
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(out=cut, jit=first, **base), log=_StopAfter(2))
    if first:  # the jitted run kept the object optimizer's state, all of it
        names = {k.split("/")[2] for k in _checkpoint(Path(cut)) if k.startswith("optim/")}
        assert names == ({"step", "exp_avg", "exp_avg_sq"} if optimizer == "adam"
                         else {"momentum_buffer"})
    resumed = train(TrainConfig(out=cut, jit=then, **base), log=_quiet, resume=True)
    np.testing.assert_allclose(resumed.train_loss, whole.train_loss, rtol=1e-5)
    assert [f"{a:.4f}" for a in resumed.test_accuracy] == \
        [f"{a:.4f}" for a in whole.test_accuracy]
    a, b = _checkpoint(tmp_path / "whole"), _checkpoint(Path(cut))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-7, err_msg=k)


def test_a_killed_process_keeps_its_completed_epochs_and_resumes(tmp_path):
    """A real process, stopped by SIGKILL (no clean-up at all) once a checkpoint of epoch 1
    is on disk, then resumed through the command line."""
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "chainrule", "train", "--hidden", "16", "--batch-size",
            "256", "--epochs", "30", "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):  # until a checkpoint after epoch >= 1 exists (or the run ends)
            if (out / "metrics.json").exists() and proc.poll() is None:
                done = json.loads((out / "metrics.json").read_text())["epochs_done"]
                if done >= 1:
                    break
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    saved = runfolder.load(out)
    assert saved.epoch >= 1 and len(saved.meta["train_loss"]) == saved.epoch
    assert main(["train", "--resume", str(out), "--epochs", str(saved.epoch + 1),
                 "--no-progress"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs_done"] == saved.epoch + 1


def test_an_unwritable_run_folder_fails_before_training(capsys):
    assert main(["train", "--no-progress", "--out", "/proc/nope/run"]) == 2
    captured = capsys.readouterr()
    assert "can't write the run folder /proc/nope/run" in captured.err
    assert "epoch" not in captured.out  # nothing was trained


def test_a_folder_holding_a_run_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    train(TrainConfig(epochs=1, out=str(out), **SMALL), log=_quiet)
    before = (out / "model.npz").read_bytes()
    assert main(["train", "--no-progress", "--out", str(out)]) == 2
    assert "already holds a run; continue it with --resume" in capsys.readouterr().err
    assert (out / "model.npz").read_bytes() == before


def test_resume_needs_a_checkpoint(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "holds no checkpoint.npz" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["--no-jit", "--jit"])
def test_a_diverging_loss_stops_training_and_keeps_the_last_good_model(tmp_path, capsys,
                                                                      mode):
    """The jitted step computes the diverging step with the loss; the check drops it, and
    the run folder keeps the model of the last completed epoch, as the eager step does."""
    out = tmp_path / "run"
    assert main(["train", "--lr", "1e9", "--optimizer", "sgd", "--hidden", "16",
                 "--no-progress", "--out", str(out), mode]) == 1
    text = capsys.readouterr().out
    assert "training stopped at epoch 1, batch 2" in text
    assert "try a smaller learning rate" in text
    kept = json.loads((out / "metrics.json").read_text())
    assert kept["epochs_done"] == 0
    initial = TrainConfig(hidden=(16,))
    from chainrule.train import build_model

    model = build_model(initial)  # the weights before the first step: the last good model
    for name, value in _params(out).items():
        np.testing.assert_array_equal(value, dict(model.named_parameters())[name].data)


def test_the_checkpoint_holds_no_pickles(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(epochs=1, out=str(out), **SMALL), log=_quiet)
    with np.load(out / "checkpoint.npz", allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)
        meta = json.loads(str(f["meta"]))
    assert meta["epoch"] == 1 and meta["config"]["hidden"] == [16]


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_a_loss_diverging_mid_epoch_leaves_the_last_completed_epoch(tmp_path, monkeypatch,
                                                                    jit):
    """The check trips at epoch 2, batch 3 (after the jitted step has computed that batch's
    update with its loss, and donated the previous arrays): the run folder holds exactly a
    one-epoch run's parameters and optimizer state."""
    import chainrule.train

    def trip(loss: float, first: float, epoch: int, batch: int) -> None:
        if (epoch, batch) == (2, 3):
            raise chainrule.train.Diverged(f"training stopped at epoch {epoch}, batch {batch}")

    one = train(TrainConfig(epochs=1, out=str(tmp_path / "one"), jit=jit, **SMALL),
                log=_quiet)
    monkeypatch.setattr(chainrule.train, "_guard", trip)
    stopped = train(TrainConfig(epochs=3, out=str(tmp_path / "run"), jit=jit, **SMALL),
                    log=_quiet)
    assert stopped.stopped == "training stopped at epoch 2, batch 3"
    assert stopped.train_loss == one.train_loss
    a, b = _checkpoint(tmp_path / "one"), _checkpoint(tmp_path / "run")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)


def test_a_scalar_parameters_optimizer_state_comes_back_as_an_array(tmp_path) -> None:
    """Only the step count is a number; a 0-d parameter's momentum stays an array."""
    import chainrule as cr
    from chainrule import nn, optim

    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.s = nn.Parameter(np.array(2.0))

        def forward(self, x):
            return x * self.s

    def trained(model: nn.Module) -> optim.SGD:
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        cr.sum(model(np.ones(3)) ** 2).backward()
        opt.step()
        return opt

    model = Scale()
    opt = trained(model)
    rng = np.random.default_rng(0)
    runfolder.save(tmp_path, {"epoch": 1}, model, opt, rng, {})
    fresh = Scale()
    fresh_opt = optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    runfolder.load(tmp_path).restore(fresh, fresh_opt, np.random.default_rng(1))
    buf = fresh_opt.state_dict()["state"][0]["momentum_buffer"]
    assert isinstance(buf, np.ndarray) and buf.shape == ()
    np.testing.assert_array_equal(buf, opt.state_dict()["state"][0]["momentum_buffer"])
