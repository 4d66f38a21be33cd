"""One command-line vocabulary: shared flag names, deprecated aliases, ``--device auto``, defaults in
``--help``, ``python -m hmr_flow`` and ``--version``."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
import torch

import hmr_flow
from hmr_flow.cli import COMMAND_MODULES, build_parser, main
from hmr_flow.validation import UserInputError, resolve_device


def _parser() -> argparse.ArgumentParser:
    return build_parser("hmr-flow", "test", [f"hmr_flow.commands.{name}" for name in COMMAND_MODULES])


def _leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """``(command words, parser)`` of every runnable (sub-)command."""
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield path, parser
    for action in subcommands:
        for name, child in action.choices.items():
            yield from _leaf_parsers(child, (*path, name))


LEAVES = dict(_leaf_parsers(_parser()))


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {name: action for action in parser._actions for name in action.option_strings}


def test_python_m_hmr_flow_and_version():
    done = subprocess.run([sys.executable, "-m", "hmr_flow", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"hmr-flow {hmr_flow.__version__}"
    done = subprocess.run([sys.executable, "-m", "hmr_flow", "fit", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--prior-weights" in done.stdout


@pytest.mark.parametrize("words", [words for words, parser in LEAVES.items() if "--device" in _options(parser)])
def test_device_defaults_to_auto(words):
    assert _options(LEAVES[words])["--device"].default == "auto"


def test_every_torch_command_has_a_device_option():
    torch_commands = {("fit",), ("regress",), ("train", "hmr"), ("prior", "train"), ("prior", "score"), ("prior", "sample")}
    assert all("--device" in _options(LEAVES[words]) for words in torch_commands)


def test_auto_device_is_cuda_only_when_available():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UserInputError, match="--device gpu0"):
        resolve_device("gpu0")


@pytest.mark.parametrize("words", list(LEAVES))
def test_help_shows_every_default(words):
    parser = LEAVES[words]
    text = parser.format_help()
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or not action.option_strings:
            continue
        default = action.default
        if default is None or default is False or default is argparse.SUPPRESS:
            continue
        assert action.help, f"{' '.join(words)} {action.option_strings[-1]}: no help text"
        expanded = parser._get_formatter()._get_help_string(action) % {"default": default}
        assert "default" in expanded and (str(default) in expanded or "%(default)" in (action.help or "")), (
            f"{' '.join(words)} {action.option_strings[-1]}: default {default!r} not shown")
    assert "(default: " in text or words == ("prior", "combine")


@pytest.mark.parametrize(
    ("words", "names"),
    [
        (("fit",), ["--prior-weights", "--model-weights", "--hypotheses", "-n", "--iterations", "--optimizer",
                    "--prior-weight", "--body-model", "--keypoints", "--image", "--images", "--image-size", "--seed"]),
        (("regress",), ["--model-weights", "--hypotheses", "-n", "--keypoints", "--image", "--images", "--image-size",
                        "--seed"]),
        (("prior", "score"), ["--prior-weights", "--prior"]),
        (("prior", "sample"), ["--prior-weights", "--prior", "--samples", "-n", "--seed"]),
        (("detect",), ["--image", "--images", "--threads"]),
    ],
)
def test_same_flag_names_everywhere(words, names):
    missing = set(names) - set(_options(LEAVES[words]))
    assert not missing, f"{' '.join(words)} lacks {sorted(missing)}"


@pytest.mark.parametrize(
    ("argv", "dest", "value", "new"),
    [
        (["fit", "--out", "o", "--init", "3"], "hypotheses", 3, "--hypotheses"),
        (["fit", "--out", "o", "--prior-path", "p.pt"], "prior_weights", "p.pt", "--prior-weights"),
        (["fit", "--out", "o", "--regressor", "m.pt"], "model_weights", "m.pt", "--model-weights"),
        (["regress", "--out", "o", "--n", "5"], "hypotheses", 5, "--hypotheses"),
        (["regress", "--out", "o", "--weights", "m.pt"], "model_weights", "m.pt", "--model-weights"),
        (["prior", "score", "--poses", "x.npz", "--out", "s.csv", "--path", "p.pt"], "prior_weights", "p.pt",
         "--prior-weights"),
    ],
)
def test_deprecated_names_still_work_and_warn(argv, dest, value, new, capsys):
    args = _parser().parse_args(argv)
    assert str(getattr(args, dest)) == str(value)
    err = capsys.readouterr().err
    assert f"is deprecated; use {new}" in err and err.count("\n") == 1


def test_deprecated_names_are_hidden_from_help():
    text = LEAVES[("fit",)].format_help()
    assert "--init " not in text and "--regressor" not in text and "--prior-path" not in text


def test_new_names_do_not_warn(capsys):
    args = _parser().parse_args(["fit", "--out", "o", "-n", "2", "--model-weights", "m.pt"])
    assert args.hypotheses == 2 and str(args.model_weights) == "m.pt" and capsys.readouterr().err == ""


def test_bad_option_is_one_line(capsys):
    assert main(["fit", "--out", "o", "--optimizer", "sgd"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--optimizer" in err[0]


def _documented_command_lines() -> list[tuple[str, str]]:
    """``(file, line)`` of every ``hmr-flow …`` line in the code blocks of the README and the docs pages
    (comments and ``[optional]`` tails dropped)."""
    from pathlib import Path

    root = Path(hmr_flow.__file__).resolve().parents[1]
    lines = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        inside = False
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("```"):
                inside = not inside
            elif inside and line.startswith("hmr-flow "):
                lines.append((page.name, line.split(" #")[0].split(" [")[0].strip()))
    return lines


DOCUMENTED_COMMANDS = _documented_command_lines()


def test_the_readme_and_docs_show_commands():
    files = {name for name, _ in DOCUMENTED_COMMANDS}
    assert len(DOCUMENTED_COMMANDS) >= 20 and {"README.md", "getting-started.md", "fitting.md"} <= files
    assert any(line.startswith("hmr-flow fit ") for name, line in DOCUMENTED_COMMANDS if name == "README.md")


@pytest.mark.parametrize(("page", "line"), DOCUMENTED_COMMANDS, ids=[f"{page}:{line}" for page, line in DOCUMENTED_COMMANDS])
def test_every_documented_command_parses(page, line, capsys):
    """What the README and the docs show users is what the installed command accepts (no stale or
    deprecated flag)."""
    import shlex

    args = _parser().parse_args(shlex.split(line)[1:])
    assert callable(args.run)
    assert "deprecated" not in capsys.readouterr().err


def test_first_line_of_an_error():
    from hmr_flow.validation import first_line

    assert first_line(ValueError("  bad value\n")) == "bad value"
    assert first_line(RuntimeError("\nsize mismatch\n  detail\n")) == "size mismatch (…)"
    assert first_line(KeyError()) == "KeyError"


def test_help_and_a_wrong_command_import_no_command_and_no_torch():
    """``hmr-flow --help``, ``--version`` and an unknown command cost argparse alone: no command module and
    no torch is imported; a command's module is imported when that command is parsed."""
    script = (
        "import sys\n"
        "from hmr_flow.cli import main\n"
        "codes = [main(['--help']), main(['bogus']), main([])]\n"
        "loaded = sorted(m for m in sys.modules if m == 'torch' or m.startswith('hmr_flow.commands.'))\n"
        "codes.append(main(['body', 'build', '--help']))\n"
        "print(codes, loaded, 'hmr_flow.commands.body' in sys.modules, 'hmr_flow.commands.fit' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[0, 2, 2, 0] [] True False"
    assert "invalid choice: 'bogus'" in done.stderr


@pytest.mark.parametrize("argv", [["fit", "--keypoints", "k.json", "--out", "o", "-n", "2"], ["body", "build", "--seed", "3"],
                                  ["prior", "sample", "-n", "4", "--out", "s.npz"], ["train", "hmr", "--data", "d", "--out", "c.pt"]])
def test_the_command_line_parses_like_the_full_parser(argv):
    from hmr_flow.cli import lazy_parser
    from hmr_flow.commands import SUMMARIES

    lazy = vars(lazy_parser("hmr-flow", "test", SUMMARIES, "hmr_flow.commands").parse_args(argv))
    full = vars(_parser().parse_args(argv))
    assert lazy.keys() == full.keys()
    assert {k: v for k, v in lazy.items() if k != "run"} == {k: v for k, v in full.items() if k != "run"}
    assert lazy["run"].__qualname__ == full["run"].__qualname__
