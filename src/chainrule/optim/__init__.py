"""Optimizers that update parameters in place without recording a graph.

Public API only: everything here is re-exported from the module that defines it.
"""

from chainrule.optim import functional
from chainrule.optim.adam import Adam
from chainrule.optim.minimize import Trajectory, minimize
from chainrule.optim.newton import Newton
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.sgd import SGD

__all__ = ["SGD", "Adam", "Optimizer", "functional"]
__all__ += ["Newton", "Trajectory", "minimize"]  # Newton's method and minimize (issue 5)
