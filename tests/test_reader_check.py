"""`chainrule check`: for every checkable exercise a correct answer passes, a typical mistake
fails with a message pointing at the difference, and the untouched template is "not done";
the command's usage errors, the reader's errors shown in the reader's file, --json, --seed,
--strict, and the Python API with its Jupyter table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from chainrule.cli import build_parser, main
from chainrule.exercises import check
from chainrule.exercises.checker import autodiff_imports, check_file, reader_specs

sys.path.insert(0, str(Path(__file__).parent))
from reader_answers import ANSWERS  # noqa: E402
from reader_mistakes import MISTAKES  # noqa: E402

SPECS, NOT_CHECKABLE = reader_specs()


def write(tmp_path: Path, text: str, name: str = "answer.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_coverage_at_least_28_with_reasons_for_the_rest():
    assert len(SPECS) >= 28 and set(SPECS) | set(NOT_CHECKABLE) == set(range(1, 36))
    assert all(len(reason) > 20 for reason in NOT_CHECKABLE.values())
    assert sorted(ANSWERS) == sorted(MISTAKES) == sorted(SPECS)


def test_fixed_signatures_of_the_issue():
    fixed = {8: ["grad(x, A, B)"], 9: ["grad(x, a)"], 20: ["grad(x, a, lam)", "minimiser(a, lam)"],
             21: ["grad(z, y)"], 22: ["grad(w, x, y)"], 24: ["grad(A, B)"],
             28: ["newton_step(A, b, x)"], 30: ["central_difference(f, x, h)"],
             31: ["softmax(z)"]}
    for n, names in fixed.items():
        assert [f"{t.name}({t.params})" for t in SPECS[n].tasks][:len(names)] == names, n


@pytest.mark.parametrize("number", sorted(ANSWERS))
def test_correct_answer_passes(number, tmp_path):
    result = check_file(number, write(tmp_path, ANSWERS[number]), seed=number)
    assert result.ok, str(result)
    assert all(f.passed == f.cases >= 1 for f in result.functions)


@pytest.mark.parametrize("number", sorted(MISTAKES))
def test_typical_mistake_fails_and_says_where(number, tmp_path):
    old, new, fragment = MISTAKES[number]
    assert old in ANSWERS[number]
    path = write(tmp_path, ANSWERS[number].replace(old, new))
    result = check_file(number, path, seed=number)
    text = str(result)
    assert not result.ok and "[fail]" in text and fragment in text, text
    failed = [f for f in result.functions if f.status == "fail"]
    assert failed and all(f.input.startswith(("the ", "random input", "a batch")) for f in failed)


@pytest.mark.parametrize("number", sorted(SPECS))
def test_untouched_template_is_not_done(number, tmp_path, capsys):
    path = tmp_path / f"ex{number:02d}.py"
    assert main(["check", str(number), "--template", "-o", str(path)]) == 0
    text = path.read_text()
    for task in SPECS[number].tasks:
        assert f"def {task.name}({task.params}):" in text
    capsys.readouterr()
    assert main(["check", str(number), str(path), "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert out.count("[not done]") == len(SPECS[number].tasks), out


def test_listing_and_template_on_stdout(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert f"{len(SPECS)} of 35 exercises can be checked" in out
    assert "grad(x, A, B)" in out and "not checkable: a timing" in out
    assert main(["check", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["8"]["functions"] == ["grad(x, A, B)"] and not listed["16"]["checkable"]
    assert main(["check", "8", "--template"]) == 0
    template = capsys.readouterr().out
    assert "raise NotImplementedError" in template and "x: (n,), A: (m, m) symmetric" in template
    compile(template, "ex08.py", "exec")


@pytest.mark.parametrize("argv, message", [
    (["check", "99", "x.py"], "no exercise 99"),
    (["check", "16", "x.py"], "cannot be checked: a timing"),
    (["check", "8"], "give your file"),
    (["check", "8", "x.py", "-o", "y.py"], "-o goes with --template"),
    (["check", "8", "no_such_file.py"], "no such file"),
    (["check", "--strict"], "give an exercise number"),
])
def test_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_template_never_overwrites(tmp_path, capsys):
    path = write(tmp_path, "my work", "ex08.py")
    assert main(["check", "8", "--template", "-o", str(path)]) == 2
    assert path.read_text() == "my work" and "exists" in capsys.readouterr().err


def test_syntax_error_shows_the_readers_line(tmp_path, capsys):
    path = write(tmp_path, "import numpy as np\n\ndef grad(x, A, B):\n    return 2 * (B.T @\n")
    assert main(["check", "8", str(path)]) == 1
    out = capsys.readouterr().out
    assert f'File "{path}", line 4' in out and "SyntaxError" in out
    assert "chainrule/" not in out and "Traceback" not in out


def test_readers_exception_shows_the_readers_file_and_line(tmp_path, capsys):
    path = write(tmp_path, "import numpy as np\n\ndef helper(x):\n    return x @ np.ones(99)\n\n"
                           "def grad(x, A, B):\n    return helper(x)\n")
    assert main(["check", "8", str(path), "--seed", "5"]) == 1
    out = capsys.readouterr().out
    assert "[error] grad" in out and f'File "{path}", line 7, in grad' in out
    assert f'File "{path}", line 4, in helper' in out and "ValueError" in out
    assert "chainrule/" not in out.replace(str(path), "")
    path = write(tmp_path, "raise RuntimeError('oops at import')\n", "boom.py")
    assert main(["check", "8", str(path)]) == 1
    out = capsys.readouterr().out
    assert f'File "{path}", line 1' in out and "RuntimeError: oops at import" in out


def test_missing_function_and_none(tmp_path):
    result = check_file(20, write(tmp_path, "def grad(x, a, lam):\n    pass\n"), seed=0)
    verdicts = {f.name: f for f in result.functions}
    assert verdicts["grad"].status == "fail" and "returned None" in verdicts["grad"].message
    assert verdicts["minimiser"].status == "missing"


def test_json_and_seed_repeat_the_inputs(tmp_path, capsys):
    path = write(tmp_path, ANSWERS[24].replace("2 * B @ A", "B @ A"))
    runs = []
    for _ in range(2):
        assert main(["check", "24", str(path), "--json", "--seed", "7"]) == 1
        runs.append(json.loads(capsys.readouterr().out))
    assert runs[0] == runs[1] and runs[0]["seed"] == 7 and runs[0]["ok"] is False
    (grad,) = runs[0]["functions"]
    assert grad["status"] == "fail" and "missing factor 2" in grad["message"]
    assert main(["check", "24", str(path)]) == 1
    assert "rerun with --seed" in capsys.readouterr().out


def test_strict_refuses_autodiff_imports_by_ast(tmp_path, capsys):
    cheat = ("import numpy as np\nfrom chainrule import functional\n\n"
             "def grad(x, A, B):\n    return functional.grad(lambda x: (B @ x) @ A @ (B @ x))(x)\n")
    path = write(tmp_path, cheat)
    assert main(["check", "8", str(path), "--seed", "0"]) == 0  # correct, so without --strict
    capsys.readouterr()
    assert main(["check", "8", str(path), "--strict"]) == 1
    assert "imports an autodiff library: chainrule (line 2)" in capsys.readouterr().out
    # an exercise about the Value engine may import it even with --strict
    assert main(["check", "13", str(write(tmp_path, ANSWERS[13], "ex13.py")), "--strict"]) == 0
    found = autodiff_imports("import torch as t\nimport importlib\n"
                             "importlib.import_module('jax.numpy')\n__import__('autograd')\n")
    assert found == [(1, "torch"), (3, "jax.numpy"), (4, "autograd")]


def test_python_api_with_a_dict_and_the_jupyter_table():
    import numpy as np

    good = check(8, {"grad": lambda x, A, B: 2 * B.T @ A @ B @ x}, seed=3)
    assert good.ok and good.seed == 3 and "all correct" in str(good)
    bad = check(8, {"grad": lambda x, A, B: 2 * B.T @ A.T @ B}, seed=3)
    html = bad._repr_html_()
    assert not bad.ok and "#cf222e" in html and "<table>" in html and "shape" in html
    assert "#1a7f37" in good._repr_html_()
    with pytest.raises(ValueError, match="cannot be checked"):
        check(5, {})
    assert np.isfinite(good.seed)


def test_help_texts_tell_the_two_checks_apart():
    import chainrule.check

    help_text = build_parser().format_help()
    assert "judge YOUR answers" in help_text and "gradient checking" in help_text
    assert "chainrule check" in chainrule.check.__doc__
