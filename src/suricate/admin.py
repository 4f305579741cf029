"""``suricate tenant quota``: an administrator's overrides of a tenant's quotas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _quota_options(fn: F) -> F:
    from suricate.domain.quotas import HELP

    for name, text in reversed(HELP.items()):
        kind = (
            click.FloatRange(min=0, max=1024)
            if name == "kernel_cpus"
            else click.IntRange(min=0, max=2**31 - 1)
        )
        fn = click.option(f"--{name.replace('_', '-')}", type=kind, help=text)(fn)
    return fn


@click.command("quota")
@click.argument("tenant_name", metavar="TENANT")
@click.option("--reset", is_flag=True, help="Drop the tenant's overrides first.")
@_quota_options
def tenant_quota(tenant_name: str, reset: bool, **values: Any) -> None:
    """Show a tenant's quotas, or override some (the others keep their SURICATE_* setting)."""
    from suricate.cli import _platform

    platform = _platform()
    if reset or any(v is not None for v in values.values()):
        platform.quotas.set(tenant_name, reset=reset, **values)
    for name, value in vars(platform.quotas.of_name(tenant_name)).items():
        click.echo(f"{name}\t{value:g}")
