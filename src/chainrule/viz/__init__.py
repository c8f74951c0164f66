"""Pictures: computational graphs (DOT/SVG, inline in Jupyter) and plots of optimizer
trajectories and training curves (matplotlib, optional).

Public API only: everything here is re-exported from the module that defines it.
"""

from chainrule.viz.dot import GraphvizMissing, dot_available, to_dot, to_svg
from chainrule.viz.plots import plot_curves, plot_trajectory

__all__ = ["GraphvizMissing", "dot_available", "plot_curves", "plot_trajectory", "to_dot",
           "to_svg"]
