"""Exercises 12-16: computational graphs and reverse mode, on the scalar ``Value`` engine.

Exercise 12 walks a graph by hand and draws it, 13 extends ``Value`` with a new operation,
14 traces gradient accumulation, 15 fits a regression with a loss written on ``Value`` s,
and 16 times backward against forward for a 2-1024-1024-10 MLP (chainrule and PyTorch).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

import chainrule as cr
from chainrule.exercises.registry import exercise
from chainrule.exercises.result import Result, close, holds, skipped, torch_or_skip
from chainrule.jit import jit, make_program
from chainrule.memory import graph_tensors
from chainrule.nn import MLP
from chainrule.nn import functional as nnf
from chainrule.nn.torch_export import torch_gradients
from chainrule.scalar import Value, topological_order
from chainrule.viz import dot_available, to_dot, to_png

GROUP = "Computational graphs and reverse-mode AD"


# --- exercise 12 ---------------------------------------------------------------------------
def _graph_12(x: Sequence[float]) -> dict[str, Value]:
    """The graph of f = (x1 + x2)(x2 + x3)(x1 + x3), every node labelled."""
    x1, x2, x3 = (Value(v, label=f"x{i}") for i, v in enumerate(x, start=1))
    a = x1 + x2
    b = x2 + x3
    c = x1 + x3
    ab = a * b
    f = ab * c
    for name, node in (("a", a), ("b", b), ("c", c), ("ab", ab), ("f", f)):
        node.label = name
    return {"x1": x1, "x2": x2, "x3": x3, "a": a, "b": b, "c": c, "ab": ab, "f": f}


@exercise(12, GROUP, "Graph of (x1+x2)(x2+x3)(x1+x3): forward and backward by hand")
def ex12(fast: bool = False) -> Result:
    """Draw the graph of f = (x1+x2)(x2+x3)(x1+x3), run its forward and backward passes at
    (1, 2, -1), and confirm the gradient by direct differentiation.

    Method: the ``Value`` engine records a = x1+x2, b = x2+x3, c = x1+x3, ab = a b,
    f = ab c. Backward from f: bar f = 1, bar c = ab, bar ab = c, bar a = b bar ab = bc,
    bar b = a bar ab = ac; each input sums the adjoints of the nodes that use it:
    bar x1 = bar a + bar c, bar x2 = bar a + bar b, bar x3 = bar b + bar c. Every value and
    adjoint is compared with the sketch; the gradient also with the product-rule partials
    (e.g. df/dx1 = (x2+x3)(x1+x3) + (x1+x2)(x2+x3)) and central differences.
    """
    x = (1.0, 2.0, -1.0)
    nodes = _graph_12(x)
    nodes["f"].backward()
    values = {k: v.data for k, v in nodes.items()}
    adjoints = {k: v.grad for k, v in nodes.items()}
    grad = [adjoints["x1"], adjoints["x2"], adjoints["x3"]]
    x1, x2, x3 = x
    direct = [(x2 + x3) * (x1 + x3) + (x1 + x2) * (x2 + x3),
              (x2 + x3) * (x1 + x3) + (x1 + x2) * (x1 + x3),
              (x1 + x2) * (x1 + x3) + (x1 + x2) * (x2 + x3)]

    def f(p):
        return (p[0] + p[1]) * (p[1] + p[2]) * (p[0] + p[2])

    h = 1e-6
    fd = [float(f(np.add(x, h * e)) - f(np.subtract(x, h * e))) / (2 * h) for e in np.eye(3)]
    res = Result(12, "Graph of (x1+x2)(x2+x3)(x1+x3)")
    res.quantities.update({"forward values": values, "adjoints": adjoints, "gradient": grad})
    res.checks += [
        close("forward a, b, c, f", [values[k] for k in "abcf"], [3, 1, 0, 0],
              "solution sketch", atol=0.0),
        close("adjoints bar a, bar b, bar c", [adjoints[k] for k in "abc"], [0, 0, 3],
              "solution sketch", atol=0.0),
        close("gradient (bar x1, bar x2, bar x3)", grad, [3, 0, 3], "solution sketch", atol=0.0),
        close("gradient", grad, direct, "direct differentiation", atol=0.0),
        close("gradient", grad, fd, "finite differences", rtol=1e-8, atol=1e-8),
    ]
    program, (value, tensor_grad) = _tensor_program_12(x)
    res.quantities["Tensor form: forward and backward as a program (chainrule.jit)"] = program
    res.checks += [
        close("Tensor program: f and gradient", [value, *tensor_grad], [0, *grad],
              "the Value engine's passes", atol=0.0),
        holds("Tensor program: 5 forward and 7 backward operations", (program.count(
            "forward"), program.count("backward")) == (5, 7), (program.count("forward"),
            program.count("backward")), "(5, 7)", "the graph: 5 nodes; 2 products x 2 "
                                                  "adjoints + 3 sums of 2 uses"),
    ]
    res.quantities["graph (DOT)"] = to_dot(nodes["f"])
    res.figures["graph"] = lambda path: to_png(nodes["f"], path,
                                               "f = (x1+x2)(x2+x3)(x1+x3) at (1, 2, -1)")
    res.notes.append("The figure is chainrule.viz.to_png's drawing of the graph (value and "
                     "adjoint in each node), by " + ("Graphviz." if dot_available() else
                                                      "matplotlib (Graphviz is not installed)."))
    return res


def _tensor_program_12(x: Sequence[float]) -> tuple:
    """The same function on Tensors, traced by ``chainrule.jit``: the program lists its
    forward lines (a, b, ab, c, f) and the backward lines ``value_and_grad`` added (the
    adjoints), and replaying it gives f and the gradient."""
    def f(x1, x2, x3):
        return (x1 + x2) * (x2 + x3) * (x1 + x3)

    args = [np.array(v) for v in x]
    step = jit(cr.value_and_grad(f, argnums=(0, 1, 2)))
    value, grads = step(*args)
    return step.program(*args), (float(value), [float(g) for g in grads])


# --- exercise 13 ---------------------------------------------------------------------------
def value_log(v: Value) -> Value:
    """The natural logarithm as a new ``Value`` operation: forward log x, local derivative
    d log x / dx = 1/x; backward then applies g -> g / x with no other change to the engine."""
    if v.data <= 0.0:
        raise ValueError(f"value_log: argument must be positive, got {v.data}")
    return Value(math.log(v.data), (v,), "log", (1.0 / v.data,))


@exercise(13, GROUP, "Add log to the Value engine; d/dx log(sigmoid(2x + 3)) at 0", stars=1)
def ex13(fast: bool = False) -> Result:
    """Extend the scalar engine with log and use it for d/dx log(sigmoid(2x + 3)) at x = 0.

    Method: an operation of the engine is a node holding its value and its local derivative,
    so log is ``Value(log x, (x,), "log", (1/x,))`` (``value_log``; ``Value.log`` is the same
    rule built in). Chain rule: d/dx log(s(u)) = s'(u)/s(u) * 2 = (1 - s(u)) * 2 with
    u = 2x + 3, i.e. 2(1 - sigmoid(3)) = 2 sigmoid(-3) at x = 0. Compared with the
    built-in rule, the closed form and PyTorch (float64).
    """
    x = Value(0.0, label="x")
    f = value_log((2 * x + 3).sigmoid())
    f.backward()
    y = Value(0.0)
    builtin = (2 * y + 3).sigmoid().log()
    builtin.backward()
    closed = 2.0 / (1.0 + math.exp(3.0))  # 2 (1 - sigmoid(3))
    res = Result(13, "log in the Value engine; d/dx log(sigmoid(2x+3))")
    res.quantities.update({"f(0)": f.data, "df/dx at 0": x.grad})
    res.checks += [
        close("df/dx = 2(1 - sigmoid(3))", x.grad, closed, "closed form", rtol=1e-14),
        close("f(0) = log sigmoid(3)", f.data, -math.log1p(math.exp(-3.0)), "closed form",
              rtol=1e-14),
        close("value_log = built-in Value.log", [f.data, x.grad], [builtin.data, y.grad],
              "Value.log", rtol=0.0, atol=0.0),
    ]
    torch = torch_or_skip("PyTorch")
    if torch is None:
        res.checks.append(skipped("df/dx vs PyTorch", "PyTorch is not installed"))
        return res
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    out = torch.log(torch.sigmoid(2 * t + 3))
    out.backward()
    res.checks += [close("f(0)", f.data, out.item(), "PyTorch", rtol=1e-14),
                   close("df/dx at 0", x.grad, t.grad.item(), "PyTorch", rtol=1e-14)]
    return res


# --- exercise 14 ---------------------------------------------------------------------------
def _overwriting_backward(root: Value) -> dict[Value, float]:
    """What backward would give with ``child.grad = ...`` instead of ``+=`` (a bug)."""
    grads = {root: 1.0}
    for node in reversed(topological_order(root)):
        for child, d in zip(node._prev, node._local):
            grads[child] = d * grads[node]
    return grads


@exercise(14, GROUP, "Trace the += accumulation that makes a*a give 2a", stars=1)
def ex14(fast: bool = False) -> Result:
    """Show that a*a accumulates the gradient 2a at a, and trace why.

    Method: ``a * a`` records ``_prev == (a, a)`` and local derivatives ``(a, a)`` (d(xy)/dx = y
    and d(xy)/dy = x with x = y = a). Backward walks that node's two edges, both to a, and
    does ``a.grad += a * g`` twice: a + a = 2a, the product rule, with no special case for
    repeated inputs. Assigning instead of adding would keep only the last edge (a, not 2a).
    Deeper sharing works the same: (a + a)(a + a) gives 8a, a*a*a gives 3a^2.
    """
    a = Value(3.0, label="a")
    b = a * a
    b.backward()
    contributions = [d * b.grad for child, d in zip(b._prev, b._local) if child is a]
    overwritten = _overwriting_backward(a * a)[a]
    res = Result(14, "a*a accumulates 2a")
    res.quantities.update({"a": a.data, "b._prev is (a, a)": b._prev[0] is a and b._prev[1] is a,
                           "b._local": b._local, "contributions to a.grad": contributions,
                           "a.grad": a.grad, "with = instead of +=": overwritten})
    res.checks += [
        holds("b._prev == (a, a): the same node twice", b._prev[0] is a and b._prev[1] is a,
              [p.label for p in b._prev], ["a", "a"], "graph structure"),
        close("two += contributions of a*g each", contributions, [a.data, a.data],
              "closed form", rtol=0.0),
        close("a.grad = 2a", a.grad, 2 * a.data, "closed form", rtol=0.0),
        holds("assignment instead of += loses one edge", overwritten == a.data, overwritten,
              a.data, "closed form"),
    ]
    for name, build, expected in (("(a + a)(a + a) -> 8a", lambda v: (v + v) * (v + v), 8 * 3.0),
                                  ("a*a*a -> 3a^2", lambda v: v * v * v, 3 * 3.0**2)):
        v = Value(3.0)
        build(v).backward()
        res.checks.append(close(name, v.grad, expected, "closed form", rtol=1e-15))
    res.notes.append("chainrule.scalar.Value already accumulates with += in backward(), so "
                     "no modification is needed; this exercise traces it.")
    return res


# --- exercise 15 ---------------------------------------------------------------------------
def mse_loss(preds: Sequence[Value], targets: Sequence[Value | float]) -> Value:
    """Mean squared error (1/n) sum_i (p_i - t_i)^2 of two equal-length lists, as a ``Value``."""
    if len(preds) != len(targets):
        raise ValueError(f"mse_loss: {len(preds)} predictions but {len(targets)} targets")
    if not preds:
        raise ValueError("mse_loss: no predictions (empty lists)")
    total = sum(((p - t) ** 2 for p, t in zip(preds, targets)), Value(0.0))
    return total / len(preds)


@exercise(15, GROUP, "mse_loss on Values; linear regression by gradient descent")
def ex15(fast: bool = False) -> Result:
    """Write mse_loss for lists of Values and fit y = w x + b by gradient descent, then compare
    with least squares.

    Method: 50 points y = 1.5 x - 0.7 + noise (seed 15). Each step builds the Value graph of
    L(w, b) = mse_loss([w x_i + b], [y_i]), backpropagates, and steps w, b by -0.5 grad. The
    Hessian of L is 2 [[mean x^2, mean x], [mean x, 1]], so the step 0.5 is stable and the
    iterates converge geometrically to the least-squares solution (``np.linalg.lstsq``).
    """
    rng = np.random.default_rng(15)
    xs = rng.uniform(-1, 1, 50)
    ys = 1.5 * xs - 0.7 + 0.2 * rng.standard_normal(50)
    w, b = Value(0.0, label="w"), Value(0.0, label="b")
    lr, steps = 0.5, 120 if fast else 300
    first_grad = None
    losses = []
    for _ in range(steps):
        w.grad = b.grad = 0.0
        loss = mse_loss([w * x + b for x in xs], list(ys))
        loss.backward()
        if first_grad is None:
            first_grad = [w.grad, b.grad]
        losses.append(loss.data)
        w.data -= lr * w.grad
        b.data -= lr * b.grad
    design = np.stack([xs, np.ones_like(xs)], axis=1)
    solution = np.linalg.lstsq(design, ys, rcond=None)[0]
    final = mse_loss([w * x + b for x in xs], list(ys)).data
    res = Result(15, "Linear regression with mse_loss on Values")
    res.quantities.update({"steps": steps, "learning rate": lr, "(w, b) by gradient descent":
                           [w.data, b.data], "(w, b) least squares": solution,
                           "final loss": final, "loss curve (every 20 steps)": losses[::20]})
    nabla = [2 * float(np.mean(-ys * xs)), 2 * float(np.mean(-ys))]  # at w = b = 0
    res.checks += [
        close("grad of mse at (0, 0) = (2/n) sum (wx+b-y)(x, 1)", first_grad, nabla,
              "closed form", rtol=1e-12),
        close("mse_loss value", mse_loss([Value(p) for p in xs], list(ys)).data,
              float(nnf.mse_loss(cr.tensor(xs), cr.tensor(ys)).data), "nn.functional.mse_loss",
              rtol=1e-12),
        close("(w, b)", [w.data, b.data], solution, "least squares (lstsq)", rtol=1e-8),
        close("final loss = least-squares residual / n", final,
              float(np.mean((design @ solution - ys) ** 2)), "least squares", rtol=1e-10),
    ]
    return res


# --- exercise 16 ---------------------------------------------------------------------------
def _best_times(zero_grad, loss_fn, repeats: int) -> tuple[float, float]:
    """Fastest forward (``loss_fn()``) and backward (``loss.backward()``) seconds over
    ``repeats`` steps, after one warm-up. The minimum, as in ``timeit``: load from other
    processes only ever adds time, so the fastest run is the best estimate of the cost."""
    def step() -> tuple[float, float]:
        zero_grad()
        t0 = time.perf_counter()
        loss = loss_fn()
        t1 = time.perf_counter()
        loss.backward()
        return t1 - t0, time.perf_counter() - t1

    step()
    runs = [step() for _ in range(repeats)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def _time_torch(torch, net, x: np.ndarray, labels: np.ndarray, repeats: int):
    """``_best_times`` for PyTorch with one intra-op thread (restored afterwards): PyTorch's
    thread pool and NumPy's BLAS threads otherwise fight over the cores and the timings
    become noise."""
    tx, ty = torch.from_numpy(x), torch.from_numpy(labels)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _best_times(net.zero_grad,
                           lambda: torch.nn.functional.cross_entropy(net(tx), ty), repeats)
    finally:
        torch.set_num_threads(threads)


def _graph_flop_ratio(loss: cr.Tensor) -> float:
    """Backward/forward matmul FLOPs read off the recorded graph of ``loss``: each ``matmul``
    or ``linear`` node costs m k n multiply-adds forward and as many again for each of its
    two product inputs that needs a gradient (one product per input in its vjp)."""
    forward = backward = 0
    for t in graph_tensors(loss):
        node = t._node
        if node is not None and node.prim.name in ("matmul", "linear"):
            (m, k), n = np.shape(node.raw[0]), np.shape(node.raw[1])[1]
            forward += m * k * n
            backward += m * k * n * sum(1 for i, _ in node.parents or () if i in (0, 1))
    return backward / forward


def _matmul_flop_ratio(sizes: Sequence[int]) -> float:
    """Backward/forward ratio of matmul FLOPs: forward one product per layer; backward a weight
    gradient per layer plus an input gradient for every layer but the first."""
    forward = sum(m * n for m, n in zip(sizes, sizes[1:]))
    first = sizes[0] * sizes[1]
    return (2 * forward - first) / forward


@exercise(16, GROUP, "Backward/forward wall-clock ratio for a 2-1024-1024-10 MLP")
def ex16(fast: bool = False) -> Result:
    """Measure the wall-clock ratio of a backward pass to a forward pass for a 2-1024-1024-10
    ReLU MLP with cross-entropy, in chainrule and in PyTorch, and compare with 2x-3x.

    Method: float32, batch 256 (64 with ``fast``), the fastest of 20 timed steps (7 with
    ``fast``) after a warm-up; forward = logits and loss, backward = ``loss.backward()``.
    PyTorch runs on one thread while timed (see ``_time_torch``), chainrule on NumPy's
    default BLAS threads. Both get the same weights and data, and their losses and gradients
    are compared, so the timed work is the same work. Counting matmul FLOPs, backward does
    the weight gradients (as many FLOPs as the forward pass) plus input gradients for the
    layers after the first, about 2.0x the forward FLOPs here; overheads move the measured
    ratio. The times are reported, not checked (a loaded machine can reorder them); the
    check is the structural fact: the FLOP ratio read off the recorded graph equals the one
    counted from the layer sizes.
    """
    sizes = [2, 1024, 1024, 10]
    batch, repeats = (64, 7) if fast else (256, 20)
    rng = np.random.default_rng(16)
    x = rng.standard_normal((batch, 2)).astype(np.float32)
    labels = rng.integers(0, 10, batch)
    model = MLP(sizes, rng=16, dtype=np.float32)
    fwd, bwd = _best_times(model.zero_grad, lambda: nnf.cross_entropy(model(x), labels),
                           repeats)
    res = Result(16, "Backward/forward time ratio, 2-1024-1024-10 MLP")
    flops = _matmul_flop_ratio(sizes)
    res.quantities.update({"batch": batch, "repeats": repeats, "dtype": "float32",
                           "matmul FLOP ratio backward/forward": flops,
                           "chainrule forward ms": 1e3 * fwd, "chainrule backward ms": 1e3 * bwd,
                           "chainrule backward/forward": bwd / fwd})
    loss = nnf.cross_entropy(model(x), labels)
    res.checks.append(close("matmul FLOP ratio backward/forward on the recorded graph",
                            _graph_flop_ratio(loss), flops, "counted from the layer sizes",
                            rtol=1e-12))
    ratios = {"chainrule": bwd / fwd}
    torch = torch_or_skip("PyTorch")
    if torch is None:
        res.checks.append(skipped("PyTorch backward/forward ratio", "PyTorch is not installed"))
    else:
        net = model.to_torch()
        tfwd, tbwd = _time_torch(torch, net, x, labels, repeats)
        res.quantities.update({"PyTorch forward ms": 1e3 * tfwd,
                               "PyTorch backward ms": 1e3 * tbwd,
                               "PyTorch backward/forward": tbwd / tfwd})
        res.checks += _same_work(torch, model, net, x, labels)
        ratios["PyTorch"] = tbwd / tfwd
    res.quantities.update(_count_16(model, x, labels))
    res.checks.append(close("traced program: backward/forward matmul FLOPs",
                            res.quantities["program backward/forward matmul FLOPs"], flops,
                            "counted from the layer sizes", rtol=1e-12))
    measured = ", ".join(f"{k} {r:.2f}" for k, r in ratios.items())
    verdicts = "; ".join(f"{k} {'inside' if 2.0 <= r <= 3.0 else 'outside'}"
                         for k, r in ratios.items())
    res.notes.append(f"Measured backward/forward: {measured} (batch {batch}, float32, fastest "
                     f"of {repeats}); matmul FLOPs alone predict {flops:.2f}. Against the 2x-3x "
                     f"rule of thumb: {verdicts}. "
                     "Timings depend on the machine, the BLAS threads and other load (PyTorch "
                     "timed on one thread, chainrule on NumPy's BLAS threads); the rule of "
                     "thumb counts arithmetic, not framework overhead.")
    return res


def _count_16(model: MLP, x: np.ndarray, labels: np.ndarray) -> dict:
    """The operations of one training step as ``chainrule.make_program`` traces them: how
    many lines the forward pass has and how many the backward pass adds, and the matmul
    FLOPs of each (2 m n k per product, read off the program's shapes)."""
    params = model.state_dict()
    program = make_program(cr.value_and_grad(
        lambda p: nnf.cross_entropy(cr.functional_call(model, p, x), labels)))(params)
    flops = {"forward": 0, "backward": 0}
    for line in program.lines:
        if line.name in ("linear", "matmul"):
            a = line.args[0]  # a Ref to a traced value, or the constant x
            a = program.values[a.slot] if hasattr(a, "slot") else a
            flops[line.phase] += 2 * program.values[line.outs[0]].size * a.shape[-1]
    return {"program forward operations": program.count("forward"),
            "program backward operations": program.count("backward"),
            "program backward/forward matmul FLOPs": flops["backward"] / flops["forward"],
            "program": program}


def _same_work(torch, model: MLP, net, x: np.ndarray, labels: np.ndarray) -> list:
    """Checks that chainrule and PyTorch compute the same loss and gradients (float32)."""
    model.zero_grad()
    net.zero_grad()
    loss = nnf.cross_entropy(model(x), labels)
    loss.backward()
    tloss = torch.nn.functional.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(labels))
    tloss.backward()
    theirs = torch_gradients(model, net)
    # the loss uses every parameter: PyTorch gives each a gradient (never None)
    worst = max(float(np.abs(p.grad - theirs[name]).max() / (np.abs(theirs[name]).max() + 1e-30))  # type: ignore[arg-type]
                for name, p in model.named_parameters())
    return [close("loss", float(loss.data), tloss.item(), "PyTorch", rtol=1e-5),
            close("gradients: max |diff| / max |grad|", worst, 0.0, "PyTorch (float32)",
                  atol=1e-4)]
