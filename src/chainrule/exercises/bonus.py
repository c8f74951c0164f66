"""Exercises 33-35: the tensor engine on MNIST, gradients through depth, checkpointing."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import memory
from chainrule.checkpoint import checkpoint_sequential
from chainrule.data import as_features, load_mnist
from chainrule.diagnose import tanh_depth_profile
from chainrule.exercises.registry import exercise
from chainrule.exercises.result import Check, Result, close, holds, skipped, torch_or_skip
from chainrule.train import (
    GRADIENT_TOLERANCE,
    TrainConfig,
    build_model,
    compare_gradients_with_torch,
    train,
)

GROUP = "Bonus"


def _numpy_accuracy(state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """Test accuracy of a saved 2-layer ReLU MLP, evaluated in plain NumPy (independent of
    chainrule's forward pass)."""
    hidden = np.maximum(x @ state["layers.0.weight"] + state["layers.0.bias"], 0)
    logits = hidden @ state["layers.2.weight"] + state["layers.2.bias"]
    return float(np.mean(logits.argmax(axis=1) == y))


def _torch_check(name: str, check: dict) -> Check:
    if check["status"] == "skipped":
        return skipped(name, check["reason"])
    return close(name, check["max_relative_error"], 0.0, "PyTorch (float64, same weights)",
                 rtol=0, atol=GRADIENT_TOLERANCE)


@exercise(33, GROUP, "Tensor autodiff on NumPy: a 2-layer MLP on MNIST 4 vs 9", stars=2)
def ex33(fast: bool = False) -> Result:
    """A NumPy-only reverse-mode engine for arrays of any shape trains a two-layer MLP with
    cross-entropy on MNIST 4-vs-9, and its gradients agree with PyTorch's to 1e-4 relative
    error.

    Method: chainrule's Tensor engine is that engine (primitives with NumPy forwards and vjp
    rules, broadcasting undone in one place, an iterative backward). The run reuses the main
    job (``chainrule.train``): a 784-128-2 ReLU MLP, Adam, minibatches of 32, on the bundled
    4-vs-9 images (2 epochs with ``fast``, else 8). Gradients of the loss are compared with
    PyTorch on a training batch before training and on 256 test images after it: the model
    itself (a float64 copy, its fused ``linear`` layers) against ``model.to_torch()``
    (``torch.nn.Linear`` with the same weights), as max |g - g_torch| / max |g_torch| per
    parameter; the test accuracy is recomputed from the saved weights in plain NumPy.
    """
    config = TrainConfig(epochs=2 if fast else 8, progress=False)
    log: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        config.out = tmp
        run = train(config, log=log.append)
        model = build_model(config).load(Path(tmp) / "model.npz")
    data = load_mnist(digits=config.digits)
    x_test = as_features(data.x_test, np.float32)
    after = compare_gradients_with_torch(model, x_test[:256], data.y_test[:256])
    state = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    res = Result(33, "Tensor autodiff on NumPy: a 2-layer MLP on MNIST 4 vs 9", quantities={
        "data": repr(data), "epochs": config.epochs, "train loss per epoch": run.train_loss,
        "test accuracy per epoch": run.test_accuracy,
        "gradient check before training": run.gradient_check,
        "gradient check after training (256 test images)": after,
        "seconds": run.seconds})
    res.checks += [
        _torch_check("gradients vs PyTorch before training (relative error < 1e-4)",
                     run.gradient_check),
        _torch_check("gradients vs PyTorch after training (relative error < 1e-4)", after),
        close("test accuracy vs a NumPy evaluation of the saved weights", run.final_accuracy,
              _numpy_accuracy(state, x_test.astype(np.float64), data.y_test), "NumPy",
              rtol=0, atol=1.5 / len(data.y_test)),
        holds("test accuracy well above chance (> 0.9)", run.final_accuracy > 0.9,
              run.final_accuracy, "> 0.9 (chance ~0.5)", "sanity bound"),
    ]
    res.notes.append(f"Test accuracy {run.final_accuracy:.4f} on {len(data.y_test)} images after "
                     f"{config.epochs} epochs on {len(data.y_train)} training images (the "
                     "bundled subset; `chainrule train --full` uses all of MNIST).")
    return res


def _scaled_orthogonal(n: int, gain: float, rng: np.random.Generator) -> np.ndarray:
    """gain * Q with Q orthogonal: every singular value, so ||W||_2, equals gain."""
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return gain * q * np.sign(np.diag(r))


def _jacobian_norms(ws: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """||d h_l / d x||_2 for h_l = tanh(h_{l-1} W_l), from the closed-form product
    J_l = diag(1 - h_l^2) W_l^T J_{l-1} (an independent reference in NumPy)."""
    jac, h, norms = np.eye(len(x)), x, []
    for w in ws:
        h = np.tanh(h @ w)
        jac = (1 - h * h)[:, None] * (w.T @ jac)
        norms.append(np.linalg.norm(jac, 2))
    return np.array(norms)


@exercise(34, GROUP, "Input gradients through L tanh layers: vanishing and exploding", stars=1)
def ex34(fast: bool = False) -> Result:
    """Why the input gradient of a deep stack of equal linear layers with tanh is bounded by
    prod ||W_l|| (times the largest tanh slopes), and how that makes gradients vanish when
    ||W|| < 1 and blow up when ||W|| > 1.

    Derivation: h_l = tanh(z_l), z_l = h_{l-1} W, so d h_l / d h_{l-1} = diag(tanh'(z_l)) W^T
    and the input Jacobian is the product of L such factors. Norms are submultiplicative and
    ||diag(tanh')|| = max |tanh'(z_l)| <= 1, hence ||d h_L / d x|| <= ||W||^L prod_l
    max |tanh'(z_l)| <= ||W||^L: geometric decay when ||W|| < 1. When ||W|| > 1 the bound
    grows geometrically, and the gradient does too while the units stay in tanh's linear
    range (tanh' ~ 1); once activations grow into saturation, tanh' < 1 pulls it down.

    Method: W = gain * Q (Q orthogonal, so every singular value is the gain), n = 16;
    ``diagnose.tanh_depth_profile`` gives the Jacobian norm at every depth by forward mode,
    checked against the closed-form product in NumPy and, at the last depth, PyTorch.
    """
    depth, n = (30, 16) if fast else (60, 16)
    rng = np.random.default_rng(34)
    x = rng.normal(size=n)
    x /= np.linalg.norm(x)
    cases = {"vanishing: gain 0.8, |x| = 1": (0.8, 1.0),
             "exploding: gain 1.25, |x| = 1e-3 / 1.25^L (linear range)": (1.25,
                                                                       1e-3 / 1.25 ** depth),
             "gain 1.25, |x| = 1 (saturating)": (1.25, 1.0)}
    res = Result(34, "Input gradients through L tanh layers: vanishing and exploding")
    torch = torch_or_skip("torch")
    for name, (gain, scale) in cases.items():
        w = _scaled_orthogonal(n, gain, rng)
        ws = [w] * depth
        prof = tanh_depth_profile(ws, scale * x)
        half = depth // 2
        growth = float((prof.measured[-1] / prof.measured[half - 1]) ** (1 / (depth - half)))
        res.quantities[name] = {"||dh_L/dx||": prof.measured[-1], "gain^L": prof.bound[-1],
                                "growth per layer (second half)": growth,
                                "||dh_l/dx|| at l = 1, 5, 10, 20, L":
                                    prof.measured[[0, 4, 9, 19, -1]]}
        res.checks += [
            close(f"{name}: measured norms vs closed-form product", prof.measured,
                  _jacobian_norms(ws, scale * x), "closed form (NumPy)", rtol=1e-9),
            holds(f"{name}: measured <= prod ||W|| max tanh' <= prod ||W|| at every depth",
                  bool(np.all(prof.measured <= prof.tanh_bound * (1 + 1e-12))
                       and np.all(prof.tanh_bound <= prof.bound * (1 + 1e-12))),
                  prof.measured[-1], prof.bound[-1], "closed form (the bound)"),
        ]
        if torch is None:
            res.checks.append(skipped(f"{name}: Jacobian at depth {depth} vs PyTorch",
                                      "PyTorch is not installed"))
        else:
            wt = torch.tensor(w)

            def net(v, wt=wt):
                for _ in range(depth):
                    v = torch.tanh(v @ wt)
                return v

            jac = torch.autograd.functional.jacobian(net, torch.tensor(scale * x)).numpy()
            res.checks.append(close(f"{name}: ||dh_L/dx|| vs PyTorch", prof.measured[-1],
                                    np.linalg.norm(jac, 2), "PyTorch", rtol=1e-9))
    vanish, explode, saturate = (res.quantities[k] for k in cases)
    res.checks += [
        holds("gain 0.8: the gradient vanishes (||dh_L/dx|| <= 0.8^L)",
              vanish["||dh_L/dx||"] <= 0.8 ** depth, vanish["||dh_L/dx||"], 0.8 ** depth,
              "closed form"),
        close("gain 1.25 in the linear range: the gradient explodes like 1.25^L",
              explode["||dh_L/dx||"], 1.25 ** depth, "closed form", rtol=1e-4),
    ]
    rate = saturate["growth per layer (second half)"]
    res.notes.append(f"Measured: with gain 1.25 and a unit-norm input, the activations saturate "
                     f"and the gradient grows by only {rate:.3f} per layer instead of 1.25 "
                     f"(||dh_L/dx|| = {saturate['||dh_L/dx||']:.3g} vs "
                     f"the bound {saturate['gain^L']:.3g}): the bound prod ||W|| is an upper "
                     "bound, reached only in tanh's linear range.")
    return res


def _deep_tanh(depth: int, width: int, rng: np.random.Generator
               ) -> tuple[list, list, list[int]]:
    """``depth`` layers h -> tanh(h W_l); returns (layers, weights, [number of calls])."""
    weights = [cr.tensor(_scaled_orthogonal(width, 1.0, rng), requires_grad=True)
               for _ in range(depth)]
    calls = [0]

    def layer(w):
        def apply(h):
            calls[0] += 1
            return cr.tanh(h @ w)
        return apply

    return [layer(w) for w in weights], weights, calls


def _activation_peak(layers: list, weights: list, calls: list[int], x: np.ndarray,
                     segments: int | None) -> tuple[int, list[np.ndarray], int]:
    """Peak bytes held for backward (parameters and input excluded), the weight gradients,
    and the number of layer evaluations, for one forward + backward pass."""
    for w in weights:
        w.grad = None
    calls[0] = 0
    with memory.track(leaves=False) as mem:
        if segments is None:
            h = x
            for f in layers:
                h = f(h)
        else:
            h = checkpoint_sequential(layers, segments, x)
        cr.sum(h * h).backward()
    return mem.peak, [w.grad.copy() for w in weights], calls[0]


def transformer_estimate(layers: int = 100, seq: int = 2048, hidden: int = 12288,
                         heads: int = 96) -> dict[str, float]:
    """Activation memory of an L-layer transformer with checkpoints every sqrt(L) layers,
    as a fraction of plain backprop.

    Assumptions: every layer stores the same activations A; a checkpoint keeps only a
    segment's input, one (batch, seq, hidden) tensor = a fraction r of A; backward holds
    the s = sqrt(L) checkpoints plus one segment (L/s layers) recomputed at a time, so the
    ratio is (s r + L/s) / L. With r = 1 (a checkpoint as big as a layer) this is
    2 sqrt(L) / L. Per layer A ~ seq * batch * hidden * (34 + 5 heads seq / hidden) bytes
    in 16-bit precision (Korthikanti et al., 2022, no recomputation or parallelism), the
    input 2 seq * batch * hidden bytes, so r = 2 / (34 + 5 heads seq / hidden). Compute:
    one extra forward of the checkpointed layers, about +1/3 of a training step if backward
    costs two forwards.
    """
    s = math.isqrt(layers)
    r = 2 / (34 + 5 * heads * seq / hidden)
    return {"segments": s, "checkpoint / layer activation ratio r": r,
            "memory ratio, checkpoint = a whole layer (2 sqrt(L)/L)": 2 * s / layers,
            "memory ratio, transformer r": (s * r + layers / s) / layers,
            "best segments for that r, sqrt(L / r)": math.sqrt(layers / r),
            "extra compute (forwards of checkpointed layers / full step)":
                (layers - layers / s) / layers / 3}


@exercise(35, GROUP, "Gradient checkpointing: memory with and without sqrt(L) segments",
          stars=1)
def ex35(fast: bool = False) -> Result:
    """How gradient checkpointing (Chen et al., 2016) buys memory with recomputation,
    measured on a 100-layer network, and what it saves for a 100-layer transformer with a
    checkpoint every sqrt(L) layers.

    How: plain backprop keeps every layer's activations until backward uses them (memory
    O(L)). Checkpointing keeps only the input of every segment of k layers and, when
    backward reaches a segment, recomputes its activations from that input: memory
    ~ L/k checkpoints + k layers, least at k = sqrt(L) (O(sqrt L)), for about one extra
    forward pass.

    Method: a 100-layer tanh network, one forward + backward, with and without
    ``checkpoint_sequential`` in 10 segments; ``memory.track`` measures the peak bytes held
    for backward, layer calls count the recomputation, and the gradients must agree. Then
    the transformer estimate (``transformer_estimate``, assumptions in its docstring).
    """
    depth, segments = 100, 10
    width, batch = (64, 16) if fast else (256, 64)
    rng = np.random.default_rng(35)
    layers, weights, calls = _deep_tanh(depth, width, rng)
    x = rng.normal(size=(batch, width))
    plain, g_plain, calls_plain = _activation_peak(layers, weights, calls, x, None)
    ckpt, g_ckpt, calls_ckpt = _activation_peak(layers, weights, calls, x, segments)
    act = batch * width * 8
    per_layer = plain / depth
    model = ((segments - 1) * act + depth / segments * per_layer) / plain
    est = transformer_estimate()
    res = Result(35, "Gradient checkpointing: memory with and without sqrt(L) segments",
                 quantities={
                     "network": f"{depth} layers tanh(h W), width {width}, batch {batch}",
                     "one activation (bytes)": act,
                     "peak bytes held, plain backprop": plain,
                     f"peak bytes held, {segments} checkpointed segments": ckpt,
                     "measured memory ratio": ckpt / plain,
                     "layer evaluations (plain, checkpointed)": (calls_plain, calls_ckpt),
                     "100-layer transformer estimate": est})
    res.checks += [
        close("checkpointed gradients equal plain ones", np.array(g_ckpt), np.array(g_plain),
              "plain backprop", rtol=1e-12, atol=1e-14),
        close("measured ratio vs ((s-1) checkpoints + L/s layers) / L layers", ckpt / plain,
              model, "estimate from the measured bytes per layer", rtol=0.1),
        holds("measured ratio below the 2 sqrt(L) / L = 20% estimate", ckpt / plain <= 0.2,
              ckpt / plain, 0.2, "closed form"),
        close("layer evaluations vs L + (s - 1) L / s (last segment not recomputed)",
              calls_ckpt, depth + (segments - 1) * depth // segments, "closed form", rtol=0),
    ]
    res.notes += [
        f"Measured on the MLP: {ckpt / plain:.1%} of plain backprop's activation memory "
        f"({ckpt / 1e6:.2f} MB vs {plain / 1e6:.2f} MB), for {calls_ckpt - calls_plain} extra "
        "layer evaluations. It is below 2 sqrt(L)/L = 20% because a checkpoint is one array "
        "while a layer holds two (tanh's input and output).",
        f"100-layer transformer, checkpoints every sqrt(100) = 10 layers: if a checkpoint cost "
        f"as much as a layer, memory would be 2 sqrt(L)/L = 20% of plain (an 80% saving); with "
        f"GPT-3-sized layers (seq 2048, hidden 12288, 96 heads) a checkpoint is "
        f"{est['checkpoint / layer activation ratio r']:.1%} of a layer's activations, so it "
        f"is ~{est['memory ratio, transformer r']:.0%} (~90% saving), for about "
        f"{est['extra compute (forwards of checkpointed layers / full step)']:.0%} more compute. "
        "With checkpoints that cheap, more segments (~sqrt(L / r) = "
        f"{est['best segments for that r, sqrt(L / r)']:.0f}) would save more still.",
    ]
    return res
