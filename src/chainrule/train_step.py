"""One training step of ``chainrule train``, eager or traced by :func:`chainrule.jit`.

Both steps update the same model and the same object optimizer's state
(:class:`~chainrule.optim.Adam` or :class:`~chainrule.optim.SGD`): that state is what the run
folder keeps (:mod:`chainrule.runfolder`), so a run started with ``--jit`` resumes with
``--no-jit`` and the other way round.

Each step has two halves: :meth:`loss` (the batch's loss, as a float) and :meth:`apply`
(take the step), so that training checks the loss for divergence in between, and a step that
diverged is never applied.

* :class:`EagerStep`: the forward pass; ``backward()`` and ``opt.step()``.
* :class:`JitStep`: ``step(params, opt_state, x, y) -> (params, opt_state, loss)``, a pure
  function of the parameters (``model.state_dict()``'s names) and the state of the functional
  optimizer (:mod:`chainrule.optim.functional`), traced once per batch shape and replayed,
  both donated. The model's own forward runs on the parameters through
  :func:`chainrule.functional_call`. :meth:`JitStep.sync` copies the parameters into the
  model and the functional state into the object optimizer (its names: Adam's ``step``,
  ``exp_avg``, ``exp_avg_sq``; SGD's ``momentum_buffer``); training calls it after every
  epoch, before the model is evaluated and the run folder written.

The jitted step computes the loss and the new state together, in :meth:`JitStep.loss`; its
:meth:`~JitStep.apply` only keeps them. When the divergence check fails, training stops
without calling ``apply``: the new state is dropped, and the donated arrays it replaced are
read no more. Either way the run folder holds the last completed epoch (nothing is written
after the check fails), and with ``--jit`` the model holds it too (it is written at the end
of an epoch only).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import functional_call, nn, optim, value_and_grad
from chainrule.jit import jit
from chainrule.optim import functional as fopt


class EagerStep:
    """The object API's step: the forward pass, then ``backward()`` and ``opt.step()``."""

    def __init__(self, model: nn.Module, opt: optim.Optimizer) -> None:
        self.model, self.opt = model, opt
        self.pending: Any = None  # the loss Tensor of the batch seen last

    def loss(self, x: Any, y: np.ndarray) -> float:
        self.pending = nn.functional.cross_entropy(self.model(x), y)
        return float(self.pending.item())  # the step's one wait for the GPU

    def apply(self) -> None:
        self.opt.zero_grad()
        self.pending.backward()
        self.opt.step()
        self.pending = None

    def sync(self) -> None:
        """The model and the optimizer hold the current state already."""


class JitStep:
    """The same step as a pure function, jitted with the parameters and the optimizer state
    donated (see the module docstring). ``model`` and ``opt`` give the starting point (a
    resumed run's restored state) and receive the state at every :meth:`sync`."""

    def __init__(self, model: nn.Module, opt: optim.Optimizer) -> None:
        self.model, self.opt = model, opt
        self.names = [name for name, _ in model.named_parameters()]  # opt's index order
        self.fopt = functional_optimizer(opt)
        self.params = model.state_dict()
        self.state = functional_state(opt, self.names, self.fopt.init(self.params))
        self.step = jit(self._step, donate_argnums=(0, 1))
        self.pending: tuple[dict, dict] | None = None  # the parameters and state after it

    def _step(self, params: dict, state: dict, x: Any, y: Any) -> tuple[dict, dict, Any]:
        def loss_fn(p: dict) -> Any:
            return nn.functional.cross_entropy(functional_call(self.model, p, x), y)

        loss, grads = value_and_grad(loss_fn)(params)
        updates, state = self.fopt.update(grads, state, params)
        return fopt.apply_updates(params, updates), state, loss

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        params, state, loss = self.step(self.params, self.state, x, y)
        self.pending = params, state
        return float(loss)

    def apply(self) -> None:
        assert self.pending is not None, "JitStep.apply without a loss"
        self.params, self.state = self.pending
        self.pending = None

    def sync(self) -> None:
        """Copy the parameters into the model and the state into the object optimizer."""
        self.model.load_state_dict(self.params)  # copies: the donated arrays stay ours
        self.opt.load_state_dict({"state": object_state(self.state, self.names),
                                  "param_groups": self.opt.state_dict()["param_groups"]})


def functional_optimizer(opt: optim.Optimizer) -> fopt.FunctionalOptimizer:
    """The functional optimizer with ``opt``'s settings (one parameter group)."""
    if len(opt.param_groups) != 1:
        raise ValueError(f"JitStep: one parameter group expected, got {len(opt.param_groups)}")
    g = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    if isinstance(opt, optim.Adam):
        return fopt.adam(**g)
    if isinstance(opt, optim.SGD):
        return fopt.sgd(**g)
    raise TypeError(f"JitStep: no functional form of {type(opt).__name__}")


# The functional state's per-parameter containers and the object optimizers' names for them.
_NAMES = {"m": "exp_avg", "v": "exp_avg_sq", "v_max": "max_exp_avg_sq",
          "momentum": "momentum_buffer"}


def object_state(state: dict, names: list[str]) -> dict[int, dict[str, Any]]:
    """The object optimizer's ``state_dict()["state"]`` for a functional state: per parameter
    index, Adam's ``step`` and moments, SGD's ``momentum_buffer``. Before the first step the
    object optimizers hold nothing, and nothing is returned."""
    step = int(state["step"])
    if step == 0:
        return {}
    adam = "m" in state
    return {i: {**({"step": step} if adam else {}),
                **{_NAMES[k]: state[k][name] for k in state if k != "step"}}
            for i, name in enumerate(names) if adam or "momentum" in state}


def functional_state(opt: optim.Optimizer, names: list[str], initial: dict) -> dict:
    """The functional state for the object optimizer ``opt``'s state (``initial``, the
    functional optimizer's ``init``, when ``opt`` has taken no step). SGD keeps no step count:
    a momentum buffer means at least one step was taken, and only the first step is special,
    so the count restarts at 1."""
    saved = opt.state_dict()["state"]
    if not saved:
        return initial
    state: dict = {}
    for key, init in initial.items():
        if key == "step":
            step = saved[0].get("step", 1)
            state["step"] = np.asarray(step, dtype=init.dtype)
        else:
            state[key] = {name: np.ascontiguousarray(saved[i][_NAMES[key]])
                          for i, name in enumerate(names)}
    return state
