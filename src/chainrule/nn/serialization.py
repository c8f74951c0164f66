"""Saving and loading a module's parameters as ``.npz`` (NumPy arrays, never pickles).

The file holds one array per parameter, named as in ``state_dict()``
(``layers.0.weight``). It is read with ``allow_pickle=False``, so loading a
file can't run code; a file holding object arrays is refused.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from chainrule import backend

if TYPE_CHECKING:
    from chainrule.nn.module import Module


def _npz_path(path: str | Path) -> Path:
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def save(module: Module, path: str | Path) -> Path:
    """Write ``module.state_dict()`` to ``path`` (``.npz`` added if missing, as NumPy
    does), atomically: a reader never sees a half-written file. Returns the path."""
    path = _npz_path(path)
    state = {name: backend.to_numpy(v) for name, v in module.state_dict().items()}  # GPU: copied
    # ignore: NumPy's stub types **kwds as if a name could be allow_pickle (a bool)
    write_atomically(path, lambda f: np.savez(f, **state))  # type: ignore[arg-type]
    return path


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it to ``path``: a
    reader (or a run killed half-way) sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, read with ``allow_pickle=False``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load: no such file: {path}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"load: {path} is not an .npz archive of arrays ({e})") from e
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load: {path} holds a single array, not an .npz archive")
    arrays = {}
    with archive:
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except ValueError as e:
                raise ValueError(f"load: {path}: array '{name}' holds Python objects, which "
                                 "can't be read without pickle (refused for safety)") from e
            except (OSError, EOFError, zipfile.BadZipFile) as e:
                raise ValueError(f"load: {path}: array '{name}' is damaged ({e})") from e
    return arrays


def load(module: Module, path: str | Path, strict: bool = True) -> Module:
    """Read the arrays saved by :func:`save` into ``module``'s parameters, in place.

    Names, shapes and dtypes must match (see ``Module.load_state_dict``).
    Returns the module.
    """
    module.load_state_dict(read_npz(path), strict=strict)
    return module
