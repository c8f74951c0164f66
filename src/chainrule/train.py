"""The main job: train a two-layer MLP on MNIST digits (4 vs 9 by default).

Offline by default (the bundled 4-vs-9 set); ``full=True`` downloads the whole
MNIST set once. Before training, the gradients of the loss on one batch are
compared with PyTorch's (float64, same weights) when PyTorch is installed.
A run keeps ``checkpoint.npz``, ``metrics.json`` and ``model.npz`` up to date after every
epoch (:mod:`chainrule.runfolder`; ``--resume`` continues from them) and draws ``loss.png``
(with matplotlib) at the end. ``jit=True`` (``--jit``) replays the step traced by
:func:`chainrule.jit` (:mod:`chainrule.train_step`), with the same numbers and run folder.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from chainrule import backend, nn, no_grad, optim, runfolder
from chainrule.data import as_features, batches, load_mnist
from chainrule.nn.torch_export import torch_gradients
from chainrule.train_step import EagerStep, JitStep

GRADIENT_TOLERANCE = 1e-4
DIVERGENCE_FACTOR = 100.0  # a loss above this many times the first batch's stops training


@dataclass
class TrainConfig:
    """Everything that determines a run; same config, same numbers."""

    digits: tuple[int, ...] = (4, 9)
    hidden: tuple[int, ...] = (128,)
    activation: str = "relu"
    epochs: int = 15
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    seed: int = 0
    dtype: str = "float32"
    device: str = "cpu"
    full: bool = False
    out: str | None = None
    progress: bool = True
    jit: bool = False  # the step traced by chainrule.jit (CPU only; same numbers, see README)

    def validate(self) -> None:
        if len(set(self.digits)) != len(self.digits) or len(self.digits) < 2:
            raise ValueError(f"--digits: need at least two different digits, got {self.digits}")
        if any(not 0 <= d <= 9 for d in self.digits):
            raise ValueError(f"--digits: digits are 0..9, got {self.digits}")
        if any(h <= 0 for h in self.hidden):
            raise ValueError(f"--hidden: layer sizes must be positive, got {self.hidden}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"--{name.replace('_', '-')}: must be positive, "
                                 f"got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"--lr: must be positive, got {self.lr}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"--optimizer: 'sgd' or 'adam', got {self.optimizer!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"--dtype: 'float32' or 'float64', got {self.dtype!r}")
        try:
            kind, _ = backend.parse_device(self.device)
        except ValueError as e:
            raise ValueError(f"--device: {e}") from None
        if kind != "cpu" and self.jit:
            raise ValueError(f"--jit: chainrule.jit traces NumPy arrays on the CPU only; "
                             f"train on --device {self.device} without --jit")
        if kind != "cpu":
            backend.device_module(kind)  # no CuPy, no GPU: a one-line DeviceError now


@dataclass
class RunResult:
    """What a run measured (``metrics.json`` holds the same, plus the config)."""

    train_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    gradient_check: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    out: str = ""
    stopped: str = ""  # why training stopped early (a diverging loss), or empty

    @property
    def final_accuracy(self) -> float:
        return self.test_accuracy[-1]


def build_model(config: TrainConfig, n_in: int = 784) -> nn.MLP:
    sizes = (n_in, *config.hidden, len(config.digits))
    return nn.MLP(sizes, activation=config.activation, rng=config.seed,
                  dtype=np.dtype(config.dtype))


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """The fraction of ``x`` (host arrays) classified as ``y``, on the model's device."""
    with no_grad():
        logits = model(backend.to_device(x, _device(model))).data
    return float(np.mean(backend.to_numpy(np.argmax(logits, axis=1)) == y))


def _device(model: nn.Module) -> str:
    """Where the model's parameters are (``"cpu"`` for a model without any)."""
    return next((p.device for p in model.parameters()), "cpu")


def compare_gradients_with_torch(model: nn.Module, x: np.ndarray, y: np.ndarray
                                 ) -> dict[str, Any]:
    """Largest relative difference between chainrule's and PyTorch's gradients of the
    cross-entropy on one batch, both in float64 with the same weights.

    The model itself runs (a float64 copy of it: its own forward, through the fused
    ``linear`` primitive that training uses), against ``model.to_torch()`` (PyTorch's
    ``nn.Linear`` with the transposed weights). Per parameter: max |g_chainrule - g_torch|
    / max |g_torch|; the largest over parameters is reported.
    """
    try:
        import torch
    except ImportError:
        return {"status": "skipped", "reason": "PyTorch is not installed"}
    twin = _float64_copy(model)
    loss = nn.functional.cross_entropy(twin(np.asarray(x, np.float64)), y)
    loss.backward()
    net = twin.to_torch()
    torch_loss = torch.nn.functional.cross_entropy(
        net(torch.from_numpy(np.asarray(x, np.float64))), torch.from_numpy(np.asarray(y)))
    torch_loss.backward()
    theirs = torch_gradients(twin, net)
    worst = 0.0
    for name, p in twin.named_parameters():
        ref = theirs[name]
        assert ref is not None  # the loss uses every parameter: PyTorch gave each a grad
        scale = max(float(np.abs(ref).max()), np.finfo(np.float64).tiny)
        worst = max(worst, float(np.abs(p.grad - ref).max()) / scale)
    return {"status": "passed" if worst < GRADIENT_TOLERANCE else "failed",
            "max_relative_error": worst, "tolerance": GRADIENT_TOLERANCE,
            "loss_difference": abs(float(loss.item()) - float(torch_loss.item()))}


def _float64_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose parameters are float64 (the model itself is untouched)."""
    twin = copy.deepcopy(model)
    for p in twin.parameters():
        p.data = p.data.astype(np.float64)
        p.grad = None
    return twin


def make_optimizer(config: TrainConfig, model: nn.Module) -> optim.Optimizer:
    if config.optimizer == "adam":
        return optim.Adam(model.parameters(), lr=config.lr)
    return optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)


class Diverged(Exception):
    """The loss left the range where training makes progress (see :func:`train`)."""


def _guard(loss: float, first: float, epoch: int, batch: int) -> None:
    if not np.isfinite(loss) or loss > DIVERGENCE_FACTOR * first:
        what = f"{loss:.3g}, over {DIVERGENCE_FACTOR:g} times the first batch's {first:.3g}" \
            if np.isfinite(loss) else f"{loss}"
        raise Diverged(f"training stopped at epoch {epoch}, batch {batch}: the loss is {what}; "
                       "try a smaller learning rate (--lr)")


def train(config: TrainConfig, log=print, resume: bool = False) -> RunResult:
    """Train, evaluate after each epoch, keep the run folder up to date; return the metrics.

    The run folder is checked before training starts and written after every epoch (see
    :mod:`chainrule.runfolder`), so an interrupted run keeps its completed epochs and
    ``resume=True`` continues it with the numbers of an uninterrupted run. A loss that is
    not finite, or above ``DIVERGENCE_FACTOR`` times the first batch's, stops training
    with a message naming the epoch and batch; the model of the last completed epoch stays.
    """
    config.validate()
    out = Path(config.out or f"runs/{time.strftime('%Y%m%d-%H%M%S')}")
    runfolder.prepare(out, resume)
    start = time.perf_counter()
    data = load_mnist(digits=config.digits, full=config.full)
    dtype = np.dtype(config.dtype)
    x_train, x_test = as_features(data.x_train, dtype), as_features(data.x_test, dtype)
    y_train, y_test = data.y_train, data.y_test
    log(f"data: {data!r}, features {x_train.shape[1]}, dtype {dtype}")

    model = build_model(config, x_train.shape[1])
    check = None if resume else compare_gradients_with_torch(  # on the host: PyTorch's CPU
        model, x_train[:config.batch_size], y_train[:config.batch_size])
    model.to(config.device)  # the batches follow it there, one host-to-device copy each
    opt = make_optimizer(config, model)  # with --jit too: its state is what the run keeps
    loader = batches(x_train, y_train, config.batch_size, shuffle=True, seed=config.seed)
    result = RunResult(out=str(out))
    first_loss = None
    if resume:
        saved = runfolder.load(out)
        saved.restore(model, opt, loader.rng)
        result.train_loss, result.test_accuracy = saved.meta["train_loss"], \
            saved.meta["test_accuracy"]
        result.gradient_check, first_loss = saved.meta["gradient_check"], \
            saved.meta["first_loss"]
        done = saved.epoch
        log(f"resuming {out} after epoch {done} of {config.epochs}")
    else:
        result.gradient_check = check  # type: ignore[assignment]  # not resuming: it ran
        _log_gradient_check(result.gradient_check, log)
        done = 0
        _keep(out, 0, config, result, model, opt, loader, first_loss)
    step = JitStep(model, opt) if config.jit else EagerStep(model, opt)
    try:
        for epoch in range(done + 1, config.epochs + 1):
            total, count = 0.0, 0
            bar = tqdm(loader, desc=f"epoch {epoch}/{config.epochs}", leave=False,
                       disable=not config.progress, unit="batch")
            for batch, (xb, yb) in enumerate(bar, 1):
                xb = backend.to_device(xb, config.device)  # labels stay: an index, checked here
                value = step.loss(xb, yb)
                first_loss = value if first_loss is None else first_loss
                _guard(value, first_loss, epoch, batch)
                step.apply()
                total += value * len(yb)
                count += len(yb)
            step.sync()
            result.train_loss.append(total / count)
            result.test_accuracy.append(accuracy(model, x_test, y_test))
            _keep(out, epoch, config, result, model, opt, loader, first_loss)
            done = epoch
            log(f"epoch {epoch:2d}  train loss {result.train_loss[-1]:.4f}  "
                f"test accuracy {result.test_accuracy[-1]:.4f}")
    except Diverged as e:
        result.stopped = str(e)
        log(f"{e}; {out}/ keeps the model of epoch {done}")
    except KeyboardInterrupt:
        log(f"interrupted: {out}/ keeps epoch {done}; continue with "
            f"chainrule train --resume {out}")
        raise
    result.seconds = time.perf_counter() - start
    _plot(out, result, log)
    if result.test_accuracy:
        log(f"test accuracy {result.final_accuracy:.4f} on {len(y_test)} test images "
            f"in {result.seconds:.1f} s; run written to {out}/")
    return result


def _keep(out: Path, epoch: int, config: TrainConfig, result: RunResult, model: nn.Module,
          opt: optim.Optimizer, loader: Any, first_loss: float | None) -> None:
    """Write the run folder as it stands after ``epoch`` (0: before training)."""
    metrics = {"config": asdict(config), **asdict(result), "epochs_done": epoch,
               "final_test_accuracy": result.test_accuracy[-1] if result.test_accuracy
               else None}
    meta = {"epoch": epoch, "config": asdict(config), "train_loss": result.train_loss,
            "test_accuracy": result.test_accuracy, "first_loss": first_loss,
            "gradient_check": result.gradient_check}
    runfolder.save(out, meta, model, opt, loader.rng, metrics)


def _log_gradient_check(check: dict[str, Any], log) -> None:
    if check["status"] == "skipped":
        log(f"gradient check against PyTorch: skipped ({check['reason']})")
    else:
        log(f"gradient check against PyTorch (float64, one batch): largest relative error "
            f"{check['max_relative_error']:.2e} (tolerance {check['tolerance']:.0e}): "
            f"{check['status']}")


def _plot(out: Path, result: RunResult, log) -> None:
    if not result.train_loss:
        return
    try:
        _plot_run(result, out / "loss.png")
    except ImportError:
        log("matplotlib is not installed: loss.png not written (pip install chainrule[plot])")


def _plot_run(result: RunResult, path: Path) -> None:
    """Train loss (log scale) and test accuracy per epoch, side by side."""
    import matplotlib.pyplot as plt

    from chainrule.viz.plots import plot_curves

    epochs = np.arange(1, len(result.train_loss) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    plot_curves({"train loss": (epochs, result.train_loss)}, ax=left, xlabel="epoch",
                ylabel="cross-entropy", logy=True, title="training loss")
    plot_curves({"test accuracy": (epochs, result.test_accuracy)}, ax=right, xlabel="epoch",
                ylabel="accuracy", title="test accuracy")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
