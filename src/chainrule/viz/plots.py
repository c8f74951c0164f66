"""Plots for the chapter's experiments (matplotlib, imported only when plotting).

* :func:`plot_trajectory`: contours of a 2-D function with one or more
  optimizer paths on top (exercises 25-28: gradient descent zig-zagging across
  a narrow valley, momentum, Newton's one step).
* :func:`plot_curves`: several curves on shared axes, optionally logarithmic:
  loss and accuracy against the step, or error against the step size h of a
  finite difference (exercise 30).

Both draw into ``ax`` when given (else a new figure), return the Axes, and
save the figure to ``save`` when given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.numpy_interop import raw  # plots take a tensor's values deliberately

__all__ = ["plot_curves", "plot_trajectory", "save_figure"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("chainrule.viz plots need matplotlib: pip install matplotlib "
                          "(or pip install 'chainrule[plot]')") from None
    return plt


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=(6, 4.5))
    return ax


def _save(ax: Any, save: str | Path | None) -> None:
    if save is not None:
        ax.figure.savefig(save, bbox_inches="tight")


def _paths(path: Any) -> dict[str, np.ndarray]:
    """``{name: (k, 2) iterates}`` from one path (array or Trajectory) or a dict of them."""
    items = path.items() if isinstance(path, Mapping) else [("", path)]
    out = {}
    for name, p in items:
        xs = np.asarray(raw(getattr(p, "xs", p)), dtype=np.float64)
        if xs.ndim != 2 or xs.shape[1] != 2:
            raise ValueError(f"plot_trajectory: a path must be an array of 2-D points, shape "
                             f"(k, 2), got {xs.shape}{f' for {name!r}' if name else ''}")
        out[name or getattr(p, "method", "")] = xs
    return out


def _grid_values(f: Callable[[np.ndarray], Any], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """f at every grid point (a Tensor result counts by its data)."""
    z = np.empty((len(ys), len(xs)))
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            value = f(np.array([x, y]))
            z[i, j] = float(np.asarray(getattr(value, "_data", value)))
    return z


def plot_trajectory(f: Callable[[np.ndarray], Any], path: Any, ax: Any = None,
                    xlim: tuple[float, float] | None = None,
                    ylim: tuple[float, float] | None = None, levels: int = 30,
                    resolution: int = 80, log_levels: bool = True,
                    save: str | Path | None = None) -> Any:
    """Contours of ``f`` (a function of a point (2,), returning a number or a 0-d
    Tensor) with ``path`` drawn over them: an array of iterates (k, 2), a
    ``Trajectory`` from :func:`chainrule.optim.minimize`, or a dict name -> path.

    The window defaults to the paths' extent with a margin; contour levels are
    spaced logarithmically above the minimum on the grid when ``log_levels``
    (valleys of ill-conditioned quadratics stay visible)."""
    paths = _paths(path)
    points = np.concatenate(list(paths.values()))
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = np.maximum((hi - lo) * 0.15, 0.5)
    xlim = xlim or (lo[0] - pad[0], hi[0] + pad[0])
    ylim = ylim or (lo[1] - pad[1], hi[1] + pad[1])
    gx = np.linspace(*xlim, resolution)
    gy = np.linspace(*ylim, resolution)
    z = _grid_values(f, gx, gy)
    ax = _axes(ax)
    if log_levels:
        base = z.min()
        span = max(z.max() - base, 1e-12)
        lv = base + np.geomspace(span * 1e-4, span, levels)
        ax.contour(gx, gy, z, levels=lv, cmap="viridis", linewidths=0.8)
    else:
        ax.contour(gx, gy, z, levels=levels, cmap="viridis", linewidths=0.8)
    for name, xs in paths.items():
        ax.plot(xs[:, 0], xs[:, 1], "o-", markersize=3, linewidth=1.2, label=name or None)
    if any(paths):
        ax.legend()
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    _save(ax, save)
    return ax


def plot_curves(curves: Mapping[str, Any] | Sequence[Any], ax: Any = None, xlabel: str = "step",
                ylabel: str = "loss", logx: bool = False, logy: bool = False,
                title: str | None = None, save: str | Path | None = None) -> Any:
    """Curves on one Axes: ``curves`` maps a label to ``y`` (plotted against 0, 1, ...)
    or to a pair ``(x, y)``; a list gives unlabelled curves. ``logx``/``logy`` use
    logarithmic axes (for error against step size use both)."""
    items = curves.items() if isinstance(curves, Mapping) else [("", c) for c in curves]
    ax = _axes(ax)
    labelled = False
    for name, c in items:
        if isinstance(c, tuple) and len(c) == 2:
            x, y = np.asarray(raw(c[0]), dtype=float), np.asarray(raw(c[1]), dtype=float)
        else:
            y = np.asarray(raw(c), dtype=float)
            x = np.arange(len(y))
        if x.shape != y.shape or y.ndim != 1:
            raise ValueError(f"plot_curves: curve {name!r} has x of shape {x.shape} and y of "
                             f"shape {y.shape}; they must be equal 1-D")
        ax.plot(x, y, label=name or None)
        labelled = labelled or bool(name)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if labelled:
        ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    _save(ax, save)
    return ax


def save_figure(path: str | Path, draw: Callable[[Any], Any], title: str) -> None:
    """Draw into a fresh Axes with ``draw(ax)`` (e.g. a ``plot_trajectory``), title it,
    write the PNG to ``path`` and close the figure."""
    fig, ax = _pyplot().subplots(figsize=(6, 4.5))
    try:
        draw(ax)
        ax.set_title(title, fontsize=10)
        fig.savefig(path, dpi=100, bbox_inches="tight")
    finally:
        _pyplot().close(fig)
