"""`suricate models`: list a tenant's models, show one with its versions, move an alias."""

from __future__ import annotations

import json
from typing import Any

import click


def _client() -> Any:
    from suricate.cli import _client as client

    return client()


def _call(fn: Any) -> Any:
    from suricate.cli import _client_command

    return _client_command(fn)


@click.group()
def models() -> None:
    """Models: versions with metrics and lineage, aliases (SURICATE_URL, SURICATE_TOKEN)."""


@models.command("list")
@_call
def models_list() -> None:
    """List the tenant's models: latest version and aliases."""
    with _client() as client:
        params: dict[str, Any] = {"limit": 1000}
        while True:
            page = client.call("GET", "/models", params=params)
            for item in page["items"]:
                aliases = ", ".join(f"{a}={v}" for a, v in item["aliases"].items())
                click.echo(f"{item['name']}\tv{item['latest_version']}\t{aliases or '-'}")
            if not page["next"]:
                return
            params["cursor"] = page["next"]


@models.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="The whole record, as JSON.")
@_call
def models_show(name: str, as_json: bool) -> None:
    """Show a model's versions (newest first) with their metrics, aliases and lineage."""
    from urllib.parse import quote

    with _client() as client:
        model = client.call("GET", f"/models/{quote(name, safe='')}")
    if as_json:
        click.echo(json.dumps(model, indent=2))
        return
    click.echo(f"{model['name']}: aliases {model['aliases'] or 'none'}")
    for v in model["versions"]:
        tags = f" [{', '.join(v['aliases'])}]" if v["aliases"] else ""
        read = ", ".join(f"{o['name']} v{o['version']}" for o in v["lineage"].get("objects", []))
        click.echo(
            f"  v{v['version']}{tags} {v['flavor']} {v['created_at']} "
            f"metrics {json.dumps(v['metrics'])}" + (f" from {read}" if read else "")
        )


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int, required=False)
@click.option("--delete", is_flag=True, help="Remove the alias instead.")
@_call
def models_alias(name: str, alias: str, version: int | None, delete: bool) -> None:
    """Point ALIAS of model NAME at VERSION (promote, or roll back), or --delete it."""
    from urllib.parse import quote

    path = f"/models/{quote(name, safe='')}/aliases/{quote(alias, safe='')}"
    with _client() as client:
        if delete:
            client.call("DELETE", path)
            click.echo(f"{name}@{alias} removed")
            return
        if version is None:
            raise click.UsageError("give the VERSION the alias should name (or --delete)")
        model = client.call("PUT", path, json={"version": version})
    click.echo(f"{name}@{alias} -> version {model['aliases'][alias]}")
