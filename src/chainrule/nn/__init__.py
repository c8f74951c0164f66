"""Neural networks: Module, layers, activations, losses, initialisation, save/load.

Public API only: everything here is re-exported from the module that defines it.
"""

from chainrule.nn import functional, init
from chainrule.nn.activations import ReLU, Sigmoid, Tanh
from chainrule.nn.layers import MLP, Linear, Sequential
from chainrule.nn.module import Module, Parameter
from chainrule.nn.serialization import load, save

__all__ = [
    "MLP", "Linear", "Module", "Parameter", "ReLU", "Sequential", "Sigmoid", "Tanh",
    "functional", "init", "load", "save",
]
