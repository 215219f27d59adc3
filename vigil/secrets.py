"""``vigil secrets``: webhook secrets at rest (the triggers service's ``VIGIL_SECRETS_KEY``)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from vigil.connections import connection_settings as _connections

secrets_app = typer.Typer(
    pretty_exceptions_enable=False,
    help="Webhook signing secrets, encrypted at rest with VIGIL_SECRETS_KEY.",
    no_args_is_help=True,
)


@secrets_app.command("rotate")
def rotate(
    database_url: Annotated[str | None, typer.Option(envvar="VIGIL_DATABASE_URL")] = None,
) -> None:
    """Re-encrypt every stored secret with the first key of VIGIL_SECRETS_KEY.

    Keys are read from the environment only (never the command line, where other
    users of the host could read them).
    """
    keys = os.environ.get("VIGIL_SECRETS_KEY", "")
    if not database_url:
        raise typer.BadParameter("set VIGIL_DATABASE_URL (or --database-url)")
    if not keys.strip():
        raise typer.BadParameter("set VIGIL_SECRETS_KEY: the new key first, then the old ones")
    from services.triggers import secrets_cli

    try:
        secrets_cli.rotate(database_url, keys, typer.echo, _connections().database_tls)
    except ValueError as error:  # a key that is not a Fernet key, a secret no key opens
        typer.echo(f"vigil secrets rotate: {error}; nothing was changed", err=True)
        raise typer.Exit(1) from None
