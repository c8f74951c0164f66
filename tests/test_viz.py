"""chainrule.viz: DOT text parsed back node by node and edge by edge; SVG with and without
Graphviz; Jupyter representations; plots; the ``chainrule graph`` command."""

from __future__ import annotations

import argparse
import re
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule import Value
from chainrule.cli_graph import add_graph_parser, graph_command
from chainrule.viz import dot as viz_dot
from chainrule.viz import plot_curves, plot_trajectory, to_dot, to_svg

NODE = re.compile(r'^\s*(\w+) \[shape=(record|ellipse)(, style=dashed)?, label="(.*)"\];$')
EDGE = re.compile(r"^\s*(\w+) -> (\w+);$")


def parse_dot(text: str) -> tuple[dict[str, tuple[str, list[str]]], set[tuple[str, str]]]:
    """{key: (shape, label fields)} and the set of edges; every line must be understood."""
    nodes, edges = {}, set()
    lines = text.strip().splitlines()
    assert lines[0] == "digraph chainrule {" and lines[-1] == "}"
    for line in lines[1:-1]:
        if m := NODE.match(line):
            label = m.group(4)
            fields = ([f.strip() for f in label.strip("{} ").split(" | ")]
                      if m.group(2) == "record" else [label])
            nodes[m.group(1)] = (m.group(2), fields)
        elif m := EDGE.match(line):
            edges.add((m.group(1), m.group(2)))
        else:
            assert line.strip().startswith(("rankdir", "node ")), line
    return nodes, edges


def exercise_12() -> tuple[Value, ...]:
    x1, x2, x3 = Value(1.0, label="x1"), Value(2.0, label="x2"), Value(-1.0, label="x3")
    f = (x1 + x2) * (x2 + x3) * (x1 + x3)
    f.backward()
    return f, x1, x2, x3


def test_to_dot_of_exercise_12_has_every_node_and_edge():
    f, *_ = exercise_12()
    nodes, edges = parse_dot(to_dot(f))
    boxes = {k: v[1] for k, v in nodes.items() if v[0] == "record"}
    ops = {k: v[1][0] for k, v in nodes.items() if v[0] == "ellipse"}
    assert len(boxes) == 8 and sorted(ops.values()) == ["*", "*", "+", "+", "+"]
    assert len(edges) == 15  # two inputs per operation, one output each
    made_by = {dst: src for src, dst in edges if src in ops}
    inputs = {op: sorted(src for src, dst in edges if dst == op) for op in ops}
    assert all(len(ins) == 2 and set(ins) <= set(boxes) for ins in inputs.values())
    assert sorted(made_by.values()) == sorted(ops)  # one output per operation

    def expression(key: str) -> str:
        """The value as text, rebuilt from the edges alone (inputs sorted: + and * commute)."""
        if key not in made_by:
            return boxes[key][0]
        op = made_by[key]
        return "(" + ops[op].join(sorted(expression(k) for k in inputs[op])) + ")"

    values = {expression(k): tuple(boxes[k][-2:]) for k in boxes}
    assert values == {
        "x1": ("data 1", "grad 3"), "x2": ("data 2", "grad 0"), "x3": ("data -1", "grad 3"),
        "(x1+x2)": ("data 3", "grad 0"), "(x2+x3)": ("data 1", "grad 0"),
        "(x1+x3)": ("data 0", "grad 3"), "((x1+x2)*(x2+x3))": ("data 3", "grad 0"),
        "(((x1+x2)*(x2+x3))*(x1+x3))": ("data 0", "grad 1"),
    }


def test_to_dot_of_a_tensor_graph():
    x = cr.tensor([1.0, 2.0, -1.0], requires_grad=True)
    x.name = "x"
    scale = cr.tensor(np.full(3, 2.0))
    y = (x * scale).exp().sum()
    y.backward(retain_graph=True)
    nodes, edges = parse_dot(to_dot(y))
    ops = {k: v[1][0] for k, v in nodes.items() if v[0] == "ellipse"}
    assert sorted(ops.values()) == ["exp", "mul", "sum"]
    (leaf,) = [k for k, v in nodes.items() if v[1][0] == "x"]
    assert nodes[leaf][1] == ["x", "shape (3,)", "data [ 1.,  2., -1.]",
                              "grad [ 14.7781, 109.1963,   0.2707]"]
    dashed = [line for line in to_dot(y).splitlines() if "dashed" in line]
    assert len(dashed) == 1 and "data [2., 2., 2.]" in dashed[0]  # the constant
    (mul,) = [k for k, v in ops.items() if v == "mul"]
    assert (leaf, mul) in edges and len(edges) == 7


def test_big_tensors_show_shape_not_values_and_freed_graphs_say_so():
    x = cr.randn(20, 30, rng=0, requires_grad=True)
    y = x.tanh().sum()
    y.backward(retain_graph=True)
    nodes, _ = parse_dot(to_dot(y))
    (leaf,) = [fields for _, fields in nodes.values() if fields[0] == "shape (20, 30)" and
               len(fields) == 2]
    assert leaf[1] == f"grad norm {np.linalg.norm(x.grad):.4g}"
    y.backward()
    text = to_dot(y)
    assert "sum (graph freed by backward)" in text and "tanh" not in text


def test_record_labels_are_escaped():
    v = Value(2.0, label="a|b{c}<d>")
    nodes, _ = parse_dot(to_dot(v * 3))
    assert any(r"a\|b\{c\}\<d\>" in f for _, fields in nodes.values() for f in fields)


def test_to_svg_without_graphviz_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    f, *_ = exercise_12()
    with pytest.raises(viz_dot.GraphvizMissing, match="'dot' program is not installed"):
        to_svg(f)
    assert f._repr_svg_() is None
    html = f._repr_html_()
    assert html.startswith("<table>") and "x1" in html and "+(v0, v1)" in html
    assert cr.tensor([1.0])._repr_html_() is None  # a leaf has no graph to show


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_to_svg_with_graphviz(tmp_path):
    f, *_ = exercise_12()
    svg = to_svg(f, tmp_path / "g.svg")
    assert "<svg" in svg and (tmp_path / "g.svg").read_text() == svg
    assert f._repr_svg_() == svg and f._repr_html_() is None


def test_to_dot_rejects_other_objects():
    with pytest.raises(TypeError, match="expected a Value or a Tensor"):
        to_dot(3.0)


# ----- plots ------------------------------------------------------------------------------
@pytest.fixture
def plt():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_trajectory_draws_contours_and_paths(plt, tmp_path):
    from chainrule.optim import minimize

    f = lambda x: x[0] ** 2 + 10 * x[1] ** 2  # noqa: E731
    gd = minimize(f, [1.0, 1.0], method="gd", lr=0.05, steps=20)
    mom = minimize(f, [1.0, 1.0], method="momentum", lr=0.05, steps=20)
    ax = plot_trajectory(f, {"gd": gd, "momentum": mom}, save=tmp_path / "t.png")
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["gd"].get_xydata(), gd.xs)
    np.testing.assert_allclose(lines["momentum"].get_xydata(), mom.xs)
    assert ax.collections  # the contours
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_plot_trajectory_rejects_non_2d_paths(plt):
    with pytest.raises(ValueError, match=r"shape \(k, 2\)"):
        plot_trajectory(lambda x: 0.0, np.zeros((3, 3)))


def test_plot_curves_log_axes(plt):
    h = np.logspace(-10, -1, 10)
    err = np.abs((np.exp(1 + h) - np.exp(1 - h)) / (2 * h) - np.e)
    ax = plot_curves({"central difference": (h, err), "h^2": (h, h ** 2)}, logx=True,
                     logy=True, xlabel="h", ylabel="error")
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["central difference", "h^2"]
    with pytest.raises(ValueError, match="must be equal 1-D"):
        plot_curves({"bad": (h, err[:3])})


def test_plots_without_matplotlib_say_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_curves([[1.0, 2.0]])


# ----- chainrule graph ---------------------------------------------------------------------
def graph_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_graph_parser(parser.add_subparsers())
    return parser.parse_args(["graph", *argv])


def test_graph_command_prints_values_and_adjoints(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = tmp_path / "graph.svg"
    args = graph_args("(x1 + x2) * (x2 + x3) * (x1 + x3)", "--at", "x1=1", "x2=2", "x3=-1",
                      "-o", str(out))
    assert args.run is graph_command and graph_command(args) == 0
    text = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in text.splitlines()[4:12]}
    assert rows["x1"][1:] == ["input", "1", "3"]
    assert rows["x2"][1:] == ["input", "2", "0"]
    assert rows["x3"][1:] == ["input", "-1", "3"]
    assert rows["v1"][1:4] == ["x1", "+", "x2"] and rows["v1"][-2:] == ["3", "0"]
    assert rows["v4"][-2:] == ["0", "3"] and rows["f"][-2:] == ["0", "1"]
    assert "df/dx1 = 3   central difference 3   ok" in text
    assert "is not installed" in text and not out.exists()
    nodes, edges = parse_dot((tmp_path / "graph.dot").read_text())
    assert len(nodes) == 13 and len(edges) == 15


def test_graph_command_writes_dot_and_rejects_bad_input(capsys, tmp_path):
    args = graph_args("exp(w) * b", "--at", "w=0", "b=2", "-o", str(tmp_path / "g.dot"))
    graph_command(args)
    assert "wrote" in capsys.readouterr().out and (tmp_path / "g.dot").exists()
    for argv, match in [(("x + y", "--at", "x=1"), "no value for y"),
                        (("x", "--at", "x=1", "z=2"), "does not use z"),
                        (("x", "--at", "x"), "expected NAME=VALUE"),
                        (("x", "--at", "x=one"), "not a number"),
                        (("x.real", "--at", "x=1"), "attribute access"),
                        (("x", "--at", "x=1", "-o", str(tmp_path / "g.png")), "svg or a .dot")]:
        with pytest.raises(ValueError, match=match):
            graph_command(graph_args(*argv))


def test_graph_command_where_the_difference_is_undefined(capsys):
    graph_command(graph_args("sqrt(x)", "--at", "x=0"))
    assert "central difference undefined" in capsys.readouterr().out


def test_big_graphs_are_not_drawn_inline(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    x = cr.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(200):
        y = y * 1.0
    assert y._repr_html_() is None and y._repr_svg_() is None
    assert "<table>" in (x * 2)._repr_html_()


def test_to_png_draws_value_and_tensor_graphs(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from chainrule.viz import graph_png, to_png

    monkeypatch.setattr(graph_png, "dot_available", lambda: False)  # the matplotlib drawing
    x1, x2 = Value(1.0, label="x1"), Value(2.0, label="x2")
    f = (x1 + x2) * x2
    f.backward()
    assert to_png(f, tmp_path / "v.png", "f") == "matplotlib"
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (t * t).sum()
    assert to_png(y, tmp_path / "t.png") == "matplotlib"
    for name in ("v.png", "t.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_graph_columns_follow_the_longest_path():
    from chainrule.viz.dot import _graph
    from chainrule.viz.graph_png import _columns

    a = Value(1.0, label="a")
    b = a * a + a  # a feeds '*' (column 1) and '+' (column 3)
    columns = _columns(_graph(b))
    g = _graph(b)
    op_columns = sorted(columns[k] for k, _ in g.ops)
    assert op_columns == [1, 3]
    assert max(columns.values()) == 4  # a, *, a*a, +, b
