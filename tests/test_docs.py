"""Docs are tested: every setting, CLI command and API route is documented."""

from __future__ import annotations

from pathlib import Path

import click

from suricate.cli import main
from suricate.server.app import create_app
from suricate.settings import Settings
from tests.support import ROOT

DOCS = ROOT / "docs"
README = ROOT / "README.md"


def _commands(group: click.Group, prefix: str) -> list[str]:
    names = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            names.extend(_commands(command, path))
        else:
            names.append(path)
    return names


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    for name in Settings.model_fields:
        assert f"`SURICATE_{name.upper()}`" in text, name


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    for command in _commands(main, "suricate"):
        assert f"`{command}" in text, command


def test_every_api_route_is_documented(tmp_path: Path) -> None:
    text = (DOCS / "api.md").read_text()
    schema = create_app(Settings(data_dir=tmp_path)).openapi()
    for path, operations in schema["paths"].items():
        for method in operations:
            assert f"`{method.upper()} {path}`" in text, (method, path)


def test_readme_starts_with_the_two_commands() -> None:
    head = README.read_text()[:1200]
    assert "make serve" in head
    assert "make test" in head
