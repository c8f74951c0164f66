"""The run folder of ``chainrule train``: what a run keeps after every epoch, and how it
continues (``chainrule train --resume RUN_DIR``).

Before the first step, and after every epoch, the run writes (each file atomically: a
temporary file beside it, then a rename, so a run killed at any moment leaves whole files):

* ``checkpoint.npz``: all a run needs to go on exactly where it stopped: the parameters
  (``model/<name>``), the optimizer's state (``optim/<parameter index>/<name>``) and, as
  JSON text (``meta``), the epochs done, the config, the metrics so far, the first batch's
  loss (the divergence guard's yardstick) and the state of the random generator that
  orders the batches. Arrays and text only, read back with ``allow_pickle=False``.
* ``model.npz`` and ``metrics.json``: the same model and metrics, for the user.

One file holds the whole state, so an interrupted or crashed run keeps its last completed
epoch, and a resumed run repeats the numbers of an uninterrupted one.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import backend, nn, optim
from chainrule.nn.serialization import read_npz, write_atomically

CHECKPOINT = "checkpoint.npz"


def prepare(out: Path, resume: bool) -> None:
    """Make sure the run can keep its work before it starts: the folder exists (or can be
    made) and takes a file; a folder that holds another run is refused unless resuming."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise OSError(f"--out: can't write the run folder {out}: {e.strerror or e}") from None
    if not resume and (out / CHECKPOINT).exists():
        raise ValueError(f"--out: {out} already holds a run; continue it with --resume {out} "
                         "or choose another folder")


@dataclass
class Saved:
    """What :func:`load` read back: the meta data and the arrays to restore."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @property
    def epoch(self) -> int:
        return int(self.meta["epoch"])

    def restore(self, model: nn.Module, opt: optim.Optimizer,
                rng: np.random.Generator) -> None:
        """Put the saved parameters, optimizer state and batch-order generator back."""
        model.load_state_dict({k[len("model/"):]: v for k, v in self.arrays.items()
                               if k.startswith("model/")})
        state: dict[int, dict[str, Any]] = {}
        for key, value in self.arrays.items():
            if key.startswith("optim/"):
                _, index, name = key.split("/", 2)
                # the step count is a number; a 0-d parameter's buffers stay arrays
                state.setdefault(int(index), {})[name] = value.item() if name == "step" \
                    else value
        opt.load_state_dict({"state": state,
                             "param_groups": opt.state_dict()["param_groups"]})
        rng.bit_generator.state = self.meta["rng"]


def save(out: Path, meta: dict[str, Any], model: nn.Module, opt: optim.Optimizer,
         rng: np.random.Generator, metrics: dict[str, Any]) -> None:
    """Write the checkpoint, then the model and the metrics (see the module docstring)."""
    arrays = {f"model/{k}": backend.to_numpy(v) for k, v in model.state_dict().items()}
    for index, state in opt.state_dict()["state"].items():
        arrays.update({f"optim/{index}/{k}": backend.to_numpy(v) for k, v in state.items()})
    meta = {**meta, "rng": rng.bit_generator.state}
    arrays["meta"] = np.array(json.dumps(meta))
    # ignore: NumPy's stub types **kwds as if a name could be allow_pickle (a bool)
    write_atomically(out / CHECKPOINT, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
    model.save(out / "model.npz")
    text = json.dumps(metrics, indent=2) + "\n"
    write_atomically(out / "metrics.json", lambda f: f.write(text.encode()))


def load(out: Path) -> Saved:
    """Read ``checkpoint.npz`` (arrays and JSON text only, never a pickle)."""
    if not (out / CHECKPOINT).is_file():
        raise ValueError(f"--resume: {out} holds no {CHECKPOINT} to continue from")
    arrays = read_npz(out / CHECKPOINT)
    if "meta" not in arrays:
        raise ValueError(f"--resume: {out / CHECKPOINT} has no 'meta' entry: not a run's "
                         "checkpoint")
    meta = json.load(io.StringIO(str(arrays.pop("meta"))))
    return Saved(meta, arrays)
