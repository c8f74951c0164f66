"""Pictures: computational graphs (DOT/SVG, inline in Jupyter) and plots of optimizer
trajectories and training curves (matplotlib, optional).

Public API only: everything here is re-exported from the module that defines it.
"""

from chainrule.viz.dot import GraphvizMissing, dot_available, to_dot, to_svg
from chainrule.viz.graph_png import to_png
from chainrule.viz.plots import plot_curves, plot_trajectory, save_figure

__all__ = ["GraphvizMissing", "dot_available", "plot_curves", "plot_trajectory", "save_figure",
           "to_dot", "to_png", "to_svg"]
