"""Every command is documented: in the README, and in --help with an example block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import ecograph
from ecograph.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(main.commands)


def test_all_expected_commands_exist():
    assert set(COMMANDS) >= {"crawl", "import", "info", "stats", "families", "quality",
                             "export", "render", "compare", "plot", "report", "demo",
                             "fakehub", "synth"}


@pytest.mark.parametrize("name", COMMANDS)
def test_command_in_readme_and_help_has_example(name):
    assert re.search(rf"`{name}`", README), f"{name} is not documented in README.md"
    assert f"ecograph {name}" in README, f"README has no example of `ecograph {name}`"
    res = CliRunner().invoke(main, [name, "-h"])
    assert res.exit_code == 0, res.output
    assert "Example" in res.output and f"ecograph {name}" in res.output


def test_version_and_usage_exit_codes():
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0 and ecograph.__version__ in res.output
    assert CliRunner().invoke(main, ["stats", "--no-such-option"]).exit_code == 2
    assert CliRunner().invoke(main, ["no-such-command"]).exit_code == 2


def test_readme_picture_exists():
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (Path(__file__).resolve().parent.parent / target).is_file(), target
