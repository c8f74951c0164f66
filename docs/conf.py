"""Sphinx configuration of chainrule's documentation.

Build (warnings are errors; every tutorial is executed):
    python -m sphinx -W --keep-going -b html docs docs/_build/html
with the ``docs`` extra installed: ``pip install -e ".[docs,plot]"``.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "src"))  # the checkout's chainrule, installed or not
# The notebook kernels import this checkout's chainrule and the tutorials' helpers (docs/_ext).
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(HERE.parent / "src"), str(HERE / "_ext"), os.environ.get("PYTHONPATH", "")])
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small arrays; the build runs on 2 cores

from chainrule import __version__  # noqa: E402

project = "chainrule"
author = "the chainrule developers"
copyright = "the chainrule developers (MIT licence)"  # noqa: A001
release = version = __version__

extensions = [
    "myst_nb",                      # Markdown pages and executed MyST notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",          # NumPy/Google style sections in docstrings
    "sphinx_autodoc_typehints",     # the type hints of the signatures, in the descriptions
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",       # MathJax shipped with the site: math renders offline too
    "sphinx.ext.viewcode",
    "chainrule_docs",               # docs/_ext: API pages from __all__, primitives, Limits
]

exclude_patterns = ["_build", "screenshots", "README.md", "limits.md", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Every tutorial runs at each build, so each number and picture is what the code gives today.
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
typehints_document_rtype = True
typehints_document_rtype_none = False
always_use_bars_union = True
napoleon_numpy_docstring = True
napoleon_google_docstring = True

# Internal links are checked: an unresolved reference to a chainrule object is an error.
# References to other libraries (NumPy, typing, ...) are not resolved (no network at build).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!chainrule\b).*")]

html_theme = "furo"
html_title = f"chainrule {version}"
html_static_path = ["_static"]
html_css_files = ["chainrule.css"]

# Private helpers that appear in signatures (the context manager no_grad() returns).
nitpick_ignore = [("py:class", "chainrule.autograd._SetGradMode")]
