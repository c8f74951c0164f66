"""chainrule's version, defined here only (pyproject.toml reads it; ``chainrule --version``
and ``chainrule.__version__`` show it)."""

__version__ = "0.1.0"
