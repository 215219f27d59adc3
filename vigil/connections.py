"""The connection settings every command reads: ``VIGIL_KAFKA_*`` and ``VIGIL_DATABASE_SSL*``."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from shared.settings.common import ConnectionSettings, explain


def connection_settings() -> ConnectionSettings:
    """The settings (docs/security.md), or exit 2 naming the variable that is wrong."""
    try:
        return ConnectionSettings()
    except ValidationError as error:
        typer.echo(explain(error), err=True)
        raise typer.Exit(2) from None
