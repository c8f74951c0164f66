"""The main job: `chainrule train` end to end, its run folder, and its promises."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import nn
from chainrule.cli import main
from chainrule.train import TrainConfig, compare_gradients_with_torch, train


def _quiet(*_: object) -> None:
    pass


def test_cli_runs_end_to_end_on_a_few_batches(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["train", "--epochs", "1", "--batch-size", "256", "--no-progress",
                   "--out", str(out)])
    assert status == 0
    text = capsys.readouterr().out
    assert "epoch  1" in text and "test accuracy" in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["digits"] == [4, 9]
    assert len(metrics["train_loss"]) == 1 and len(metrics["test_accuracy"]) == 1
    assert 0.5 < metrics["final_test_accuracy"] <= 1.0
    model = nn.MLP([784, 128, 2], dtype=np.float32, rng=123)
    model.load(out / "model.npz")
    with np.load(out / "model.npz", allow_pickle=False) as saved:
        assert saved["layers.0.weight"].shape == (784, 128)
        np.testing.assert_array_equal(model.layers[0].weight.data, saved["layers.0.weight"])


def test_same_seed_same_numbers(tmp_path):
    config = dict(epochs=1, batch_size=128, progress=False)
    a = train(TrainConfig(out=str(tmp_path / "a"), **config), log=_quiet)
    b = train(TrainConfig(out=str(tmp_path / "b"), **config), log=_quiet)
    c = train(TrainConfig(out=str(tmp_path / "c"), seed=1, **config), log=_quiet)
    assert a.train_loss == b.train_loss and a.test_accuracy == b.test_accuracy
    assert a.train_loss != c.train_loss


def test_default_run_reaches_97_percent(tmp_path):
    result = train(TrainConfig(out=str(tmp_path / "run"), progress=False), log=_quiet)
    assert result.final_accuracy >= 0.97
    assert result.seconds > 0  # reported, not bounded: no wall-clock assertion in tests


def test_gradients_match_pytorch_on_one_batch():
    pytest.importorskip("torch")
    model = nn.MLP([784, 32, 2], rng=0, dtype=np.float32)
    x = np.random.default_rng(0).random((16, 784), dtype=np.float32)
    y = np.arange(16) % 2
    check = compare_gradients_with_torch(model, x, y)
    assert check["status"] == "passed"
    assert check["max_relative_error"] < 1e-10


def test_gradient_check_says_skipped_without_torch(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch":
            raise ImportError("no torch here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    model = nn.MLP([784, 8, 2], rng=0)
    check = compare_gradients_with_torch(model, np.zeros((2, 784)), np.array([0, 1]))
    assert check == {"status": "skipped", "reason": "PyTorch is not installed"}


@pytest.mark.parametrize("argv, message", [
    (["--digits", "4", "4"], "at least two different digits"),
    (["--digits", "4", "12"], "digits are 0..9"),
    (["--epochs", "0"], "--epochs: must be positive"),
    (["--lr", "-1"], "--lr: must be positive"),
    (["--hidden", "0"], "--hidden: layer sizes must be positive"),
    (["--digits", "3", "8"], "--full"),
])
def test_bad_options_get_a_one_line_error(argv, message, capsys, tmp_path):
    status = main(["train", "--no-progress", "--out", str(tmp_path / "x"), *argv])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_unknown_option_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--no-such-option"])
    assert e.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
