"""Sphinx helpers for chainrule's documentation (a local extension, loaded by conf.py).

* ``.. chainrule-members:: MODULE``: autodoc for every public name of MODULE (its
  ``__all__``, else the functions and classes it defines), so a name added to ``__all__``
  appears in the API reference without editing a page. Options:

  - ``:from: MOD [MOD ...]``: only the names defined in these modules (a primitive counts as
    defined where its forward is); ``:rest:``: every name not yet shown on this page;
  - ``:exclude: NAME [NAME ...]``.

  A primitive (a :class:`chainrule.primitive.Primitive` instance) is documented as a
  function; a second name for the same object ("absolute" for "abs") as an alias; a
  submodule as a link to its page.
* The "Limits" page takes its text from ``docs/limits.md`` when that file exists.
"""

from __future__ import annotations

import importlib
import inspect
import types
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.ext.autodoc import FunctionDocumenter
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

from chainrule.primitive import Primitive

LIMITS = Path(__file__).resolve().parents[1] / "limits.md"


def public_names(module: types.ModuleType) -> list[str]:
    """``__all__``, else the functions and classes the module defines itself."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return sorted(n for n, o in vars(module).items()
                  if not n.startswith("_") and (inspect.isfunction(o) or inspect.isclass(o))
                  and o.__module__ == module.__name__)


def defined_in(obj: Any) -> str:
    """The module that defines ``obj`` (a primitive: its forward's module)."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if isinstance(obj, Primitive):
        obj = obj.__wrapped__
    return getattr(obj, "__module__", None) or type(obj).__module__


class MembersDirective(SphinxDirective):
    required_arguments = 1
    option_spec = {
        "from": directives.unchanged,
        "exclude": directives.unchanged,
        "rest": directives.flag,
        "same-as": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        modname = self.arguments[0]
        module = importlib.import_module(modname)
        pages = self.env.temp_data.setdefault("chainrule_shown", {})
        # per page and module: the name each object was first shown under, and every name shown
        first, shown = pages.setdefault((self.env.docname, modname), ({}, set()))
        sources = self.options.get("from", "").split()
        exclude = set(self.options.get("exclude", "").split())
        # names documented on another page (chainrule.grad is chainrule.functional.grad)
        elsewhere = {}
        for other in self.options.get("same-as", "").split():
            package = importlib.import_module(other)
            elsewhere.update({id(getattr(package, n)): f"{other}.{n}"
                              for n in public_names(package)})
        lines: list[str] = []
        for name in public_names(module):
            obj = getattr(module, name)
            if name in exclude or (sources and defined_in(obj) not in sources):
                continue
            if "rest" in self.options and name in shown:
                continue
            shown.add(name)
            if id(obj) in elsewhere:
                lines += _same_as(modname, name, obj, elsewhere[id(obj)])
            else:
                lines += self._entry(modname, name, obj, first)
        if not lines and "rest" in self.options:
            lines = ["(none)"]
        if not lines:
            raise self.error(f"chainrule-members {modname}: no names match {self.options}")
        node = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, self.get_source_info()[0]), node)
        return node.children

    def _entry(self, modname: str, name: str, obj: Any, first: dict[int, str]) -> list[str]:
        full = f"{modname}.{name}"
        if isinstance(obj, types.ModuleType):
            return [f"* :mod:`{full}`: {_first_line(obj)}", ""]
        if id(obj) in first:  # a second name for one object: NumPy's name for a primitive
            return [f".. py:function:: {name}{_signature(obj)}", f"   :module: {modname}", "",
                    f"   Another name for :func:`{modname}.{first[id(obj)]}` (NumPy's).", ""]
        first[id(obj)] = name
        if inspect.isclass(obj) and not obj.__module__.startswith("chainrule"):
            kind = "exception" if issubclass(obj, BaseException) else "class"
            return [f".. py:{kind}:: {name}", f"   :module: {modname}", "",
                    f"   ``{obj.__module__}.{obj.__qualname__}``, re-exported.", ""]
        if inspect.isclass(obj):
            if issubclass(obj, BaseException):
                return [f".. autoexception:: {full}", ""]
            return [f".. autoclass:: {full}", "   :members:", ""]
        if callable(obj):
            return [f".. autofunction:: {full}", ""]
        # a constant: its type and (when short) its value; a dict's or tuple's docstring is
        # the type's, not the constant's
        value = repr(obj)
        shown = [f"   :value: {value}"] if len(value) <= 60 else []
        return [f".. py:data:: {name}", f"   :module: {modname}",
                f"   :type: {type(obj).__name__}", *shown, ""]


def _same_as(modname: str, name: str, obj: Any, target: str) -> list[str]:
    kind, role = ("class", "class") if inspect.isclass(obj) else ("function", "func")
    signature = "" if kind == "class" else _signature(obj)
    return [f".. py:{kind}:: {name}{signature}", f"   :module: {modname}", "",
            f"   The same as :{role}:`{target}`.", ""]


def _first_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _signature(obj: Any) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(*args, **kwargs)"


class PrimitiveDocumenter(FunctionDocumenter):
    """autodoc documents a primitive (a callable object) as the function it is."""

    objtype = "primitive"
    directivetype = "function"
    priority = FunctionDocumenter.priority + 1

    @classmethod
    def can_document_member(cls, member: Any, membername: str, isattr: bool, parent: Any
                            ) -> bool:
        return isinstance(member, Primitive)

    def format_args(self, **kwargs: Any) -> str:
        return _signature(self.object.__wrapped__)


class NumpyTableDirective(SphinxDirective):
    """``.. chainrule-numpy-table::``: each NumPy function and ufunc that chainrule answers on
    Tensors (the ``NUMPY`` tables of :mod:`chainrule.ops`), with the function that answers."""

    def run(self) -> list[nodes.Node]:
        import chainrule
        from chainrule import linalg, ops

        public = {id(getattr(m, n)): f"{m.__name__}.{n}"
                  for m in (linalg, chainrule) for n in m.__all__}
        rows = []
        for module in ops.MODULES:
            for numpy_f, ours in module.NUMPY.items():
                where = getattr(numpy_f, "__module__", None) or "numpy"
                prefix = "np.linalg." if where.endswith("linalg") else "np."
                target = public.get(id(ours))
                answer = f":func:`{target}`" if target else f"``{module.__name__}``"
                rows.append((prefix + numpy_f.__name__, answer))
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 1 2", "",
                 "   * - NumPy", "     - answered by"]
        for name, answer in sorted(set(rows)):
            lines += [f"   * - ``{name}``", f"     - {answer}"]
        node = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, self.get_source_info()[0]), node)
        return node.children


class OpsModulesDirective(SphinxDirective):
    """``.. chainrule-ops-modules::``: the docstring of each module of :mod:`chainrule.ops`,
    with the names it defines (linked to their pages) and the classes it returns."""

    def run(self) -> list[nodes.Node]:
        import chainrule
        from chainrule import linalg, ops

        public = {id(getattr(m, n)): f"{m.__name__}.{n}"
                  for m in (linalg, chainrule) for n in m.__all__}
        lines: list[str] = []
        for module in sorted(ops.MODULES, key=lambda m: m.__name__):
            name = module.__name__
            lines += [f"``{name}``", "~" * (len(name) + 4), "",
                      f".. automodule:: {name}", "   :no-members:", ""]
            classes = [n for n, o in vars(module).items() if inspect.isclass(o)
                       and o.__module__ == name and not n.startswith("_")]
            lines += [f".. autoclass:: {name}.{n}" for n in classes] + [""]
            names = [public.get(id(getattr(module, n)), f"{name}.{n}")
                     for n in getattr(module, "__all__", [])]
            if names:
                lines += ["Defines: " + ", ".join(f":func:`~{n}`" for n in names), ""]
        node = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, self.get_source_info()[0]), node)
        return node.children


def limits_text(app: Sphinx, docname: str, source: list[str]) -> None:
    """The Limits page is ``docs/limits.md`` when someone has written it."""
    if docname == "limits_page" and LIMITS.exists():
        source[0] = LIMITS.read_text(encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.autodoc")
    app.add_directive("chainrule-members", MembersDirective)
    app.add_directive("chainrule-numpy-table", NumpyTableDirective)
    app.add_directive("chainrule-ops-modules", OpsModulesDirective)
    app.add_autodocumenter(PrimitiveDocumenter)
    app.connect("source-read", limits_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
