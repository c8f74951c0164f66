"""The main job: train a two-layer MLP on MNIST digits (4 vs 9 by default).

Offline by default (the bundled 4-vs-9 set); ``full=True`` downloads the whole
MNIST set once. Before training, the gradients of the loss on one batch are
compared with PyTorch's (float64, same weights) when PyTorch is installed.
A run writes ``metrics.json``, ``model.npz`` and (with matplotlib) ``loss.png``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from chainrule import functional_call, jit, nn, no_grad, optim, tensor, value_and_grad
from chainrule.data import as_features, batches, load_mnist

GRADIENT_TOLERANCE = 1e-4


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
    full: bool = False
    out: str | None = None
    progress: bool = True
    jit: bool = True  # the step traced once by chainrule.jit (same numbers, faster)

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


@dataclass
class RunResult:
    """What a run measured (``metrics.json`` holds the same, plus the config)."""

    train_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    gradient_check: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    out: str = ""

    @property
    def final_accuracy(self) -> float:
        return self.test_accuracy[-1]


def build_model(config: TrainConfig, n_in: int = 784) -> nn.MLP:
    sizes = (n_in, *config.hidden, len(config.digits))
    return nn.MLP(sizes, activation=config.activation, rng=config.seed,
                  dtype=np.dtype(config.dtype))


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with no_grad():
        logits = model(x).data
    return float(np.mean(np.argmax(logits, axis=1) == y))


def compare_gradients_with_torch(model: nn.MLP, x: np.ndarray, y: np.ndarray
                                 ) -> dict[str, Any]:
    """Largest relative difference between chainrule's and PyTorch's gradients of the
    cross-entropy on one batch, both in float64 with the same weights.

    Per parameter: max |g_chainrule - g_torch| / max |g_torch|; the largest over
    parameters is reported.
    """
    try:
        import torch
    except ImportError:
        return {"status": "skipped", "reason": "PyTorch is not installed"}
    weights = {k: torch.tensor(p.data, dtype=torch.float64, requires_grad=True)
               for k, p in model.named_parameters()}
    h = torch.tensor(x, dtype=torch.float64)
    for i, layer in enumerate(model.layers):
        if isinstance(layer, nn.Linear):
            h = h @ weights[f"layers.{i}.weight"] + weights[f"layers.{i}.bias"]
        else:
            h = getattr(torch, type(layer).__name__.lower())(h)
    torch_loss = torch.nn.functional.cross_entropy(h, torch.tensor(y))
    torch_loss.backward()

    ours = {k: tensor(p.data, dtype=np.float64, requires_grad=True)
            for k, p in model.named_parameters()}
    h = tensor(x, dtype=np.float64)
    for i, layer in enumerate(model.layers):
        if isinstance(layer, nn.Linear):
            h = h @ ours[f"layers.{i}.weight"] + ours[f"layers.{i}.bias"]
        else:
            h = layer(h)
    loss = nn.functional.cross_entropy(h, y)
    loss.backward()
    worst = 0.0
    for k, p in ours.items():
        ref = weights[k].grad.numpy()
        scale = max(float(np.abs(ref).max()), np.finfo(np.float64).tiny)
        worst = max(worst, float(np.abs(p.grad - ref).max()) / scale)
    return {"status": "passed" if worst < GRADIENT_TOLERANCE else "failed",
            "max_relative_error": worst, "tolerance": GRADIENT_TOLERANCE,
            "loss_difference": abs(float(loss.item()) - float(torch_loss.item()))}


def make_optimizer(config: TrainConfig, model: nn.Module) -> optim.Optimizer:
    if config.optimizer == "adam":
        return optim.Adam(model.parameters(), lr=config.lr)
    return optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)


class EagerStep:
    """One training step with the object API: forward, ``backward()``, ``opt.step()``."""

    def __init__(self, config: TrainConfig, model: nn.Module) -> None:
        self.model, self.opt = model, make_optimizer(config, model)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        loss = nn.functional.cross_entropy(self.model(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return float(loss.item())

    def store(self) -> None:
        """The model holds the current parameters already."""


class JitStep:
    """The same step as a pure function of the parameters and the optimizer state
    (:mod:`chainrule.optim.functional`), traced once by :func:`chainrule.jit` and replayed,
    both donated (updated in their own memory); :meth:`store` writes the parameters back
    into the model."""

    def __init__(self, config: TrainConfig, model: nn.Module) -> None:
        self.model = model
        if config.optimizer == "adam":
            self.opt = optim.functional.adam(lr=config.lr)
        else:
            self.opt = optim.functional.sgd(lr=config.lr, momentum=config.momentum)
        self.params = model.state_dict()
        self.state = self.opt.init(self.params)
        self.step = jit(self._step, donate_argnums=(0, 1))

    def _step(self, params: dict, state: dict, x: Any, y: Any) -> tuple:
        def loss_fn(p: dict) -> Any:
            return nn.functional.cross_entropy(functional_call(self.model, p, x), y)

        loss, grads = value_and_grad(loss_fn)(params)
        updates, state = self.opt.update(grads, state, params)
        return optim.functional.apply_updates(params, updates), state, loss

    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        self.params, self.state, loss = self.step(self.params, self.state, x, y)
        return float(loss)

    def store(self) -> None:
        self.model.load_state_dict(self.params)


def train(config: TrainConfig, log=print) -> RunResult:
    """Train, evaluate after each epoch, write the run folder; return the metrics."""
    config.validate()
    start = time.perf_counter()
    data = load_mnist(digits=config.digits, full=config.full)
    dtype = np.dtype(config.dtype)
    x_train, x_test = as_features(data.x_train, dtype), as_features(data.x_test, dtype)
    y_train, y_test = data.y_train, data.y_test
    log(f"data: {data!r}, features {x_train.shape[1]}, dtype {dtype}")

    model = build_model(config, x_train.shape[1])
    result = RunResult()
    result.gradient_check = compare_gradients_with_torch(
        model, x_train[:config.batch_size], y_train[:config.batch_size])
    _log_gradient_check(result.gradient_check, log)

    step = JitStep(config, model) if config.jit else EagerStep(config, model)
    loader = batches(x_train, y_train, config.batch_size, shuffle=True, seed=config.seed)
    for epoch in range(1, config.epochs + 1):
        total, count = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch}/{config.epochs}", leave=False,
                   disable=not config.progress, unit="batch")
        for xb, yb in bar:
            total += step(xb, yb) * len(yb)
            count += len(yb)
        step.store()
        result.train_loss.append(total / count)
        result.test_accuracy.append(accuracy(model, x_test, y_test))
        log(f"epoch {epoch:2d}  train loss {result.train_loss[-1]:.4f}  "
            f"test accuracy {result.test_accuracy[-1]:.4f}")
    result.seconds = time.perf_counter() - start
    out = Path(config.out or f"runs/{time.strftime('%Y%m%d-%H%M%S')}")
    result.out = str(out)
    _write_run(out, config, result, model, log)
    log(f"test accuracy {result.final_accuracy:.4f} on {len(y_test)} test images "
        f"in {result.seconds:.1f} s; run written to {out}/")
    return result


def _log_gradient_check(check: dict[str, Any], log) -> None:
    if check["status"] == "skipped":
        log(f"gradient check against PyTorch: skipped ({check['reason']})")
    else:
        log(f"gradient check against PyTorch (float64, one batch): largest relative error "
            f"{check['max_relative_error']:.2e} (tolerance {check['tolerance']:.0e}): "
            f"{check['status']}")


def _write_run(out: Path, config: TrainConfig, result: RunResult, model: nn.Module,
               log) -> None:
    out.mkdir(parents=True, exist_ok=True)
    metrics = {"config": asdict(config), **asdict(result),
               "final_test_accuracy": result.final_accuracy}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    model.save(out / "model.npz")
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
