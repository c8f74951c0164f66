"""Optimizers that update parameters in place without recording a graph.

Public API only: everything here is re-exported from the module that defines it.
"""

from chainrule.optim.adam import Adam
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.sgd import SGD

__all__ = ["SGD", "Adam", "Optimizer"]
