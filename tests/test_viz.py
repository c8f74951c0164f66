"""chainrule.viz: DOT text parsed back node by node and edge by edge; SVG with and without
Graphviz; Jupyter representations; plots; the ``chainrule graph`` command."""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import Value
from chainrule.cli_graph import add_graph_parser, graph_command
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
    shapes = sorted(fields for _, fields in nodes.values() if fields[0] == "shape (20, 30)")
    assert shapes == [["shape (20, 30)", f"grad norm {np.linalg.norm(x.grad):.4g}"],
                      ["shape (20, 30)", "grad not kept"]]
    y.backward()
    text = to_dot(y)
    assert "sum (graph freed by backward)" in text and "tanh" not in text


def test_record_labels_are_escaped():
    v = Value(2.0, label="a|b{c}<d>")
    nodes, _ = parse_dot(to_dot(v * 3))
    assert any(r"a\|b\{c\}\<d\>" in f for _, fields in nodes.values() for f in fields)


SVG = "{http://www.w3.org/2000/svg}"


def svg_nodes(svg: str) -> tuple[dict[str, list[str]], list[str], int]:
    """Parse the SVG (it must be well-formed XML): {value box: its cells}, op labels, edges."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and float(root.get("width")) > 0
    groups = root.findall(f"{SVG}g")
    boxes = {g.get("id"): [t.text for t in g.findall(f"{SVG}text")] for g in groups
             if g.get("class") == "value"}
    ops = [g.find(f"{SVG}text").text for g in groups if g.get("class") == "op"]
    assert all(g.find(f"{SVG}ellipse") is not None for g in groups if g.get("class") == "op")
    return boxes, ops, len(root.findall(f"{SVG}path"))


def test_to_svg_without_graphviz(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no dot, no chromium
    x1, x2, x3 = Value(1.0, label="x1"), Value(2.0, label="x2"), Value(-1.0, label="x3")
    f = (x1 + x2) * (x2 + x3) * (x1 + x3)
    boxes, ops, edges = svg_nodes(to_svg(f))
    assert len(boxes) == 8 and sorted(ops) == ["*", "*", "+", "+", "+"] and edges == 15
    assert all(cells[-1] == "grad not computed yet" for cells in boxes.values())
    f.backward()
    svg = to_svg(f, tmp_path / "g.svg")
    assert (tmp_path / "g.svg").read_text() == svg and f._repr_svg_() == svg
    boxes, _, _ = svg_nodes(svg)
    cells = sorted(c for c in boxes.values() if c[0] in ("x1", "x2", "x3"))
    assert cells == [["x1", "data 1", "grad 3"], ["x2", "data 2", "grad 0"],
                     ["x3", "data -1", "grad 3"]]
    assert f._repr_html_() is None  # Jupyter shows the SVG
    assert cr.tensor([1.0])._repr_svg_() is None  # a leaf has no graph to show


def test_svg_of_a_tensor_graph_before_and_after_backward():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.name = "x"
    y = (x * x).sum()
    boxes, ops, _ = svg_nodes(y._repr_svg_())
    assert sorted(ops) == ["mul", "sum"]
    (leaf,) = [c for c in boxes.values() if c[0] == "x"]
    assert leaf[-1] == "grad not computed yet"
    y.backward(retain_graph=True)
    boxes, _, _ = svg_nodes(y._repr_svg_())
    (leaf,) = [c for c in boxes.values() if c[0] == "x"]
    assert leaf[-1] == "grad [2., 4.]"
    assert sum(c[-1] == "grad not kept" for c in boxes.values()) == 2  # x * x and the sum


def test_long_edges_do_not_pass_through_items():
    a = Value(1.0, label="a")
    b = (a * a).tanh().exp() + a  # a also feeds the last '+', seven columns on
    root = ET.fromstring(to_svg(b))
    centres = {float(e.get("cy")) for e in root.iter(f"{SVG}ellipse")}
    centres |= {float(r.get("y")) + float(r.get("height")) / 2 for g in root.findall(f"{SVG}g")
                for r in g.findall(f"{SVG}rect")}
    long_edge = max(root.findall(f"{SVG}path"), key=lambda p: len(p.get("d")))
    points = [tuple(map(float, c.split()[-1].lstrip("M").split(",")))
              for c in long_edge.get("d").split("C")]
    assert len(points) == 8  # the start, a point in each of the 6 columns between, the end
    assert all(y not in centres for _, y in points[1:-1])  # beside the items, not through them


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_svg_in_a_real_browser(tmp_path):
    import subprocess

    f, *_ = exercise_12()
    to_svg(f, tmp_path / "g.svg")
    script = Path(__file__).parent.parent / "scripts" / "screenshot_svg.py"
    subprocess.run([sys.executable, str(script), str(tmp_path / "g.svg"),
                    str(tmp_path / "g.png"), "--scale", "1"], check=True, timeout=120)
    png = (tmp_path / "g.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    root = ET.fromstring((tmp_path / "g.svg").read_text())
    assert (width, height) == (int(root.get("width")), int(root.get("height")))
    assert len(png) > 5000  # a drawing, not a blank page


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
    assert f"wrote {out}" in text
    boxes, ops, edges = svg_nodes(out.read_text())
    assert len(boxes) == 8 and len(ops) == 5 and edges == 15
    assert ["f", "data 0", "grad 1"] in boxes.values()


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
    assert "<svg" in (x * 2)._repr_svg_()


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
