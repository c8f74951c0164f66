"""`chainrule exercises`: listing, one exercise, --all --fast, --json, --figures, exit status."""

from __future__ import annotations

import json

import pytest

from chainrule.cli import main
from chainrule.exercises import EXERCISES, GROUPS, all_exercises
from chainrule.exercises.registry import Exercise
from chainrule.exercises.result import Result, close

PNG = b"\x89PNG\r\n\x1a\n"


def test_all_35_registered_in_order_of_the_section():
    exercises = all_exercises()
    assert sorted(exercises) == list(range(1, 36))
    groups = [exercises[n].group for n in range(1, 36)]
    assert groups == sorted(groups, key=GROUPS.index)  # groups follow the section
    starred = {n for n, e in exercises.items() if e.stars}
    assert {8, 13, 14, 17, 23, 24, 28, 29, 32, 34, 35} | {11, 33} == starred
    assert exercises[11].stars == exercises[33].stars == 2


def test_listing(capsys):
    assert main(["exercises"]) == 0
    out = capsys.readouterr().out
    for group in GROUPS:
        assert group in out
    lines = [ln for ln in out.splitlines() if ln.startswith("  ") and ln.strip()[:2].strip()]
    assert len([ln for ln in lines if ln.split()[0].isdigit()]) == 35


def test_one_exercise_prints_quantities_and_checks(capsys):
    assert main(["exercises", "12"]) == 0
    out = capsys.readouterr().out
    assert "Exercise 12" in out and "checks:" in out and "[pass]" in out
    assert "[fail]" not in out


def test_unknown_exercise_is_a_one_line_error(capsys):
    assert main(["exercises", "99"]) == 2
    assert "no exercise 99" in capsys.readouterr().err


def test_all_fast_json_and_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="figures need matplotlib (the plot extra)")
    status = main(["exercises", "--all", "--fast", "--json", "--figures", str(tmp_path)])
    results = json.loads(capsys.readouterr().out)
    assert status == 0
    assert sorted(int(k) for k in results) == list(range(1, 36))
    for number, r in results.items():
        assert r["checks"], f"exercise {number} has no checks"
        assert all(c["status"] in ("pass", "skip") for c in r["checks"]), number
        for c in r["checks"]:
            if c["status"] == "skip":
                assert c["reason"], f"exercise {number}: a skip without a reason"
    pngs = sorted(tmp_path.glob("*.png"))
    names = {p.name.split("-")[0] for p in pngs}
    assert {"ex12", "ex25", "ex26", "ex29", "ex30"} <= names
    for p in pngs:
        assert p.read_bytes()[:8] == PNG


def test_summary_counts_and_failing_exit_status(monkeypatch, capsys):
    def broken(fast: bool = False) -> Result:
        """A deliberately wrong result."""
        return Result(99, "broken", checks=[close("one is two", 1.0, 2.0, "arithmetic")])

    all_exercises()
    monkeypatch.setitem(EXERCISES, 99, Exercise(99, GROUPS[0], 0, "broken", broken))
    assert main(["exercises", "99"]) == 1
    out = capsys.readouterr().out
    assert "[fail] one is two" in out


@pytest.mark.parametrize("number", [21, 31])
def test_json_numbers_match_independent_answers(number, capsys):
    import numpy as np

    assert main(["exercises", str(number), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)[str(number)]
    if number == 21:
        z = np.array([1.0, 2.0, 3.0])
        p = np.exp(z) / np.exp(z).sum()
        grad = [c for c in r["checks"] if "closed form" in c["source"]][0]["computed"]
        np.testing.assert_allclose(grad, p - np.array([0.0, 1.0, 0.0]), rtol=1e-12)
    else:
        z = np.arange(-1000.0, -989.0)
        e = np.exp(z - z.max())
        stable = [v for k, v in r["quantities"].items() if "stable" in k.lower()][0]
        np.testing.assert_allclose(stable, e / e.sum(), rtol=1e-12)
