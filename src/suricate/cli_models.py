"""`suricate models`: list a tenant's models, show one with its versions, move an alias, run a
challenger in shadow on a processor, and backtest versions on a stored object."""

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


def _pin(text: str) -> tuple[str, int]:
    name, sep, version = text.rpartition("=")
    if not sep or not name or not version.isdigit():
        raise click.BadParameter(f"{text!r} is not NAME=VERSION")
    return name, int(version)


@models.command("shadow")
@click.argument("processor")
@click.argument("model", required=False)
@click.option("--alias", default="challenger", show_default=True, help="The challenger's alias.")
@click.option("--champion", default="champion", show_default=True, help="The alias to promote.")
@click.option("--metric", help="Promote when the challenger's mean of this sdk.metric is better.")
@click.option("--goal", type=click.Choice(["min", "max"]), default="min", show_default=True)
@click.option("--min-improvement", type=float, default=0.0, show_default=True)
@click.option("--gate", help="Promote when this notebook, run with the figures, says so.")
@click.option("--window", type=int, default=500, show_default=True, help="Messages compared.")
@click.option("--off", is_flag=True, help="Stop running a challenger in shadow.")
@_call
def models_shadow(
    processor: str,
    model: str | None,
    alias: str,
    champion: str,
    metric: str | None,
    goal: str,
    min_improvement: float,
    gate: str | None,
    window: int,
    off: bool,
) -> None:
    """Run MODEL@ALIAS in shadow on PROCESSOR (its actions in the shadow feed), promoted by hand,
    on a --metric, or by a --gate notebook; --off stops it. Shows how it does without MODEL."""
    path = f"/processors/{processor}"
    with _client() as client:
        if off:
            client.call("DELETE", f"{path}/shadow")
            click.echo(f"processor {processor}: no challenger")
            return
        if model is None:
            _show_shadow(client.call("GET", path))
            return
        policy: dict[str, Any] | None = None
        if metric and gate:
            raise click.UsageError("promote on a --metric or by a --gate, not both")
        if metric:
            policy = {"metric": metric, "goal": goal, "window": window}
            policy["min_improvement"] = min_improvement
        elif gate:
            policy = {"gate": gate, "window": window}
        body = {"model": model, "alias": alias, "champion": champion, "policy": policy}
        client.call("PUT", f"{path}/shadow", json=body)
    how = f"on {metric}" if metric else f"by the gate {gate}" if gate else "by hand"
    click.echo(f"processor {processor}: {model}@{alias} in shadow, promoted to @{champion} {how}")


def _show_shadow(processor: dict[str, Any]) -> None:
    shadow, s = processor.get("shadow"), processor.get("shadow_stats") or {}
    if not shadow:
        click.echo("no challenger in shadow")
    else:
        agreement = "-" if s.get("agreement") is None else f"{s['agreement']:.1%}"
        click.echo(
            f"{shadow['model']}: champion v{s.get('champion', '?')}, challenger "
            f"v{s.get('challenger', '?')}; agreement {agreement} of {s.get('compared', 0)}"
        )
        for side, means in (s.get("metrics") or {}).items():
            for name, mean in means.items():
                click.echo(f"  {side} {name} {mean:.6g}")
        for d in s.get("decisions", []):
            click.echo(f"  {d['at']} {d['verdict']} v{d['challenger']}: {d['reason']}")
    for m in processor.get("metrics") or []:
        versions = ", ".join(f"{k}/{v}" for k, v in m["models"].items()) or "no model"
        click.echo(f"metric {m['name']} ({versions}): mean {m['mean']:.6g} over {m['count']}")


@models.command("backtest")
@click.argument("notebook")
@click.argument("object_name", metavar="OBJECT")
@click.option("--version", type=int, help="The object's version [default: the latest].")
@click.option("--pin", "pins", multiple=True, help="NAME=VERSION: use this model version.")
@click.option("--challenger", help="NAME=VERSION: a challenger run in shadow beside them.")
@click.option("--batch-size", type=int, default=500, show_default=True)
@_call
def models_backtest(
    notebook: str,
    object_name: str,
    version: int | None,
    pins: tuple[str, ...],
    challenger: str | None,
    batch_size: int,
) -> None:
    """Replay OBJECT through the processing NOTEBOOK's handlers at full speed, as a run (its
    actions in its own feed); print the figures: actions, metrics, agreement."""
    import time

    backtest: dict[str, Any] = {
        "object": object_name,
        "version": version,
        "models": dict(_pin(p) for p in pins),
        "batch_size": batch_size,
    }
    if challenger:
        name, number = _pin(challenger)
        backtest["shadow"] = {"model": name, "version": number}
    with _client() as client:
        found = client.find_notebook(notebook)
        run = client.call("POST", f"/notebooks/{found['id']}/runs", json={"backtest": backtest})
        click.echo(f"backtest run {run['id']} of {found['name']} over {object_name}", err=True)
        while run["status"] in ("queued", "running"):
            time.sleep(0.5)
            run = client.get_run(run["id"])
        if run["status"] != "succeeded":
            error = run.get("error") or {}
            raise click.ClickException(
                f"backtest {run['status']}: {error.get('ename')}: {error.get('evalue')}"
            )
        executed = json.loads(client.run_notebook(run["id"]))
    figures = next(
        (
            o["data"]["application/vnd.suricate.backtest+json"]
            for o in executed["cells"][-1].get("outputs", [])
            if "application/vnd.suricate.backtest+json" in o.get("data", {})
        ),
        None,
    )
    click.echo(json.dumps({"run_id": run["id"], **(figures or {})}, indent=2))
