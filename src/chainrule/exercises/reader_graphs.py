"""The reader's side of exercises 12-19: graphs by hand, the scalar ``Value`` engine (13-15),
forward vs reverse mode.

Interfaces chosen here (the exercises fix none), documented in each template:

* 13: ``log(v)`` takes a :class:`chainrule.Value` and returns a new ``Value`` built as
  ``Value(data, (v,), "log", (local derivative,))``; ``dfdx()`` is the exercise's number.
* 14: ``backward(root)`` is the reader's backward pass over a ``Value`` graph (``_prev``,
  ``_local``, ``grad``); it is run on graphs that reach a node more than once.
* 15: ``mse_loss(preds, targets)`` on lists of ``Value`` s and ``fit(xs, ys) -> (w, b)``.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr
from chainrule import functional
from chainrule.exercises.reader import (
    Case,
    ReaderSpec,
    Task,
    inputs,
    reader,
    same_word,
    unavailable,
)
from chainrule.scalar import Value


def _f12(x1, x2, x3):
    return (x1 + x2) * (x2 + x3) * (x1 + x3)


def _forward12(x1, x2, x3):
    a, b, c = x1 + x2, x2 + x3, x1 + x3
    return np.array([a, b, c, a * b * c])


def _gradient12(x1, x2, x3):
    return functional.grad(lambda v: _f12(v[0], v[1], v[2]))(np.array([x1, x2, x3], float))


def _three(d):
    return tuple(float(v) for v in d.vec(3))


reader(ReaderSpec(12, "forward values and gradient of (x1+x2)(x2+x3)(x1+x3)", by_hand=True,
                  tasks=(
    Task("forward", "x1, x2, x3", "The forward pass: (a, b, c, f) with a = x1 + x2, b = x2 + x3, "
         "c = x1 + x3, f = a b c.", inputs(_three, (1.0, 2.0, -1.0)), _forward12,
         source="the forward pass in NumPy"),
    Task("gradient", "x1, x2, x3", "The backward pass: (df/dx1, df/dx2, df/dx3).",
         inputs(_three, (1.0, 2.0, -1.0)), _gradient12),
)))


# --- 13: log in the Value engine ---------------------------------------------------------------


def _value_out(name: str, out: object) -> Value:
    if not isinstance(out, Value):
        raise TypeError(f"{name} must return a chainrule Value, got {type(out).__name__}")
    return out


def _call_log(fn, args):
    """log(v) inside (log v)^2, so the chain rule has an upstream gradient to apply."""
    v = Value(args[0])
    out = _value_out("log(v)", fn(v))
    (out * out).backward()
    return np.array([out.data, v.grad])


def _log_reference(x):
    return np.array([math.log(x), functional.grad(lambda t: cr.log(t) ** 2)(np.float64(x))])


def _f13(x):
    return cr.log(cr.sigmoid(2.0 * x + 3.0))


reader(ReaderSpec(13, "log(v) for the Value engine, and d/dx log(sigmoid(2x + 3)) at 0",
                  imports="from chainrule import Value", notes=(
    "Interface: log(v) receives a chainrule Value and returns a new Value built like the "
    "engine's own operations,\n    Value(forward value, (v,), \"log\", (local derivative,)).\n"
    "The checker runs backward through (log v)^2 and compares the value and v.grad."), tasks=(
    Task("log", "v", "The natural logarithm as a Value operation (v.data > 0).",
         inputs(lambda d: (d.uniform(0.1, 5.0),), (1 / (1 + math.exp(-3)),)), _log_reference,
         call=_call_log, source="math.log and chainrule autodiff of (log x)^2"),
    Task("dfdx", "", "df/dx at x = 0 for f(x) = log(sigmoid(2x + 3)), computed with your log "
         "(a number).", inputs(lambda d: (), (), k=0),
         lambda: float(functional.grad(_f13)(np.float64(0.0)))),
)))


# --- 14: accumulation in backward --------------------------------------------------------------

GRAPHS14 = {
    "a * a": (1, lambda a: a * a),
    "(a + a) * (a + a)": (1, lambda a: (a + a) * (a + a)),
    "a * a * a": (1, lambda a: a * a * a),
    "b = a * b0; b * b + b": (2, lambda a, b0: (a * b0) * (a * b0) + a * b0),
    "(x1 + x2)(x2 + x3)(x1 + x3)": (3, _f12),
}


def _graph_cases(rng: np.random.Generator) -> list[Case]:
    return [Case(f"the graph {name}", (name, tuple(float(v) for v in rng.uniform(-2, 2, n))))
            for name, (n, _) in GRAPHS14.items()]


def _call_backward(fn, args):
    name, values = args
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    fn(GRAPHS14[name][1](*leaves))
    return np.array([leaf.grad for leaf in leaves])


def _backward_reference(name, values):
    f = GRAPHS14[name][1]
    return functional.grad(lambda v: f(*(v[i] for i in range(len(values)))))(
        np.array(values, dtype=np.float64))


reader(ReaderSpec(14, "backward(root): the backward pass that accumulates with +=",
                  imports="from chainrule import Value", notes=(
    "Interface: backward(root) receives the output Value of a fresh graph (every .grad is 0) "
    "and must\n    set root.grad = 1 and give every node its gradient, visiting the nodes in "
    "reverse topological order.\n    A Value has .data, .grad, ._prev (its inputs) and ._local "
    "(d self / d input, one per input):\n    child.grad += local * node.grad for each pair. The "
    "checker runs it on graphs that reach a node\n    more than once (a * a, ...) and compares the "
    "inputs' .grad."), tasks=(
    Task("backward", "root", "Backpropagate from root through the Value graph, accumulating.",
         _graph_cases, _backward_reference, call=_call_backward,
         source="chainrule autodiff of the same function"),
)))


# --- 15: mse_loss on Values and a linear fit ----------------------------------------------------


def _call_mse(fn, args):
    preds, targets = [Value(p) for p in args[0]], [Value(t) for t in args[1]]
    out = _value_out("mse_loss", fn(preds, targets))
    out.backward()
    return out.data, np.array([p.grad for p in preds])


def _mse_reference(preds, targets):
    value, g = functional.value_and_grad(lambda p: cr.mean((p - targets) ** 2))(preds)
    return float(value), g


def _lstsq(xs, ys):
    return np.linalg.lstsq(np.stack([xs, np.ones_like(xs)], axis=1), ys, rcond=None)[0]


def _data(d):
    xs = d.rng.uniform(-1, 1, 20)
    return xs, d.uniform(-2, 2) * xs + d.uniform(-1, 1) + 0.2 * d.rng.standard_normal(20)


reader(ReaderSpec(15, "mse_loss on Values, and a linear fit by gradient descent",
                  imports="from chainrule import Value", notes=(
    "Interface: mse_loss(preds, targets) takes two equal-length lists of chainrule Values and "
    "returns\n    the mean of (p - t)^2 as a Value (the checker runs backward and compares "
    "the loss and d loss / d preds).\n    fit(xs, ys) receives two NumPy arrays and returns "
    "(w, b) of y = w x + b found by gradient descent\n    on your mse_loss with Values (compared "
    "with least squares to 1e-4)."), tasks=(
    Task("mse_loss", "preds, targets", "Mean squared error of two equal-length lists of "
         "Values, as a Value.", inputs(lambda d: (d.vec(5), d.vec(5))), _mse_reference,
         call=_call_mse, parts=("loss", "d loss / d preds")),
    Task("fit", "xs, ys", "(w, b) of the line y = w x + b, by gradient descent on mse_loss.",
         inputs(_data, k=2), _lstsq, source="least squares (np.linalg.lstsq)", rtol=1e-4,
         atol=1e-4),
)))

unavailable(16, "a timing on the reader's own machine: there is no reference value to compare")


# --- 17: forward and reverse mode ---------------------------------------------------------------


def _sin_k(k: int):
    def f(x):
        for _ in range(k):
            x = cr.sin(x)
        return x
    return f


def _tangents(x):
    """d s_k / dx for s_0 = x, s_k = sin(s_{k-1}), k = 0..3, by chainrule's forward mode."""
    return np.array([functional.jvp(_sin_k(k), (np.float64(x),), (np.float64(1.0),))[1]
                     for k in range(4)])


def _adjoints(x):
    """d s_3 / d s_k, k = 0..3, by chainrule's reverse mode."""
    s = [np.float64(x)]
    for _ in range(3):
        s.append(np.sin(s[-1]))
    return np.array([functional.grad(_sin_k(3 - k))(s[k]) if k < 3 else 1.0 for k in range(4)])


def _point17(d):
    return (d.uniform(-3, 3),)


reader(ReaderSpec(17, "tangents (forward mode) and adjoints (reverse mode) of sin(sin(sin x))",
                  by_hand=True, notes=(
    "With s1 = sin(x), s2 = sin(s1), s3 = sin(s2) = F(x): forward(x) returns the tangents "
    "(dx/dx, ds1/dx, ds2/dx, ds3/dx)\n    propagated forwards; reverse(x) the adjoints "
    "(ds3/dx, ds3/ds1, ds3/ds2, ds3/ds3) propagated backwards.\n    Both first entries of "
    "forward and reverse hold F'(x) at opposite ends."), tasks=(
    Task("forward", "x", "The tangents (1, ds1/dx, ds2/dx, ds3/dx): 4 numbers.",
         inputs(_point17, (1.0,)), _tangents, source="chainrule forward mode (jvp)"),
    Task("reverse", "x", "The adjoints (ds3/dx, ds3/ds1, ds3/ds2, 1): 4 numbers.",
         inputs(_point17, (1.0,)), _adjoints, source="chainrule reverse mode (grad)"),
)))


# --- 18, 19: which mode builds a Jacobian cheaper -----------------------------------------------


def _choice(n_in: int, n_out: int):
    m = np.random.default_rng(0).standard_normal((n_out, n_in))
    return functional.jacobian(lambda x: cr.matmul(m, x), mode="auto", explain=True)(
        np.zeros(n_in))[1]


def _mode(n_in, n_out):
    return _choice(n_in, n_out).mode


def _speedup(n_in, n_out):
    choice = _choice(n_in, n_out)
    return (n_in + n_out - choice.passes) / choice.passes


def _distinct(d):
    a, b = d.size(1, 60), d.size(61, 200)
    return (a, b) if d.rng.random() < 0.5 else (b, a)


def _modes_spec(number: int, point: tuple[int, int]) -> ReaderSpec:
    what = "R^1000 -> R^2" if point == (1000, 2) else "R^2 -> R^1000"
    return ReaderSpec(number, f"the cheaper AD mode for a full Jacobian ({what}) and its "
                      "speed-up", tasks=(
        Task("cheaper_mode", "n_in, n_out", "'forward' or 'reverse': the mode that builds the "
             "full Jacobian of F: R^n_in -> R^n_out in fewer passes.", inputs(_distinct, point),
             _mode, judge=same_word, source="chainrule's jacobian(mode='auto')"),
        Task("speedup", "n_in, n_out", "How many times fewer passes the cheaper mode needs "
             "(a number).", inputs(_distinct, point), _speedup, rtol=1e-9,
             source="chainrule's jacobian(mode='auto') pass count"),
    ))


reader(_modes_spec(18, (1000, 2)))
reader(_modes_spec(19, (2, 1000)))
