"""What ``voxbatch --help`` and ``voxbatch --version`` say beyond the options: the version, and every environment
variable the command reads (:data:`voxbatch.environment.ENVIRONMENT`), as the epilog of the command and of each
subcommand that reads them."""

from __future__ import annotations

import typer

from voxbatch.environment import ENVIRONMENT


def environment_epilog(*names: str) -> str:
    """The environment variables (all of them, or only ``names``), one line each (rich help keeps single breaks)."""
    listed = [(name, meaning) for name, meaning in ENVIRONMENT if not names or name in names]
    return "\n".join(["Environment variables:", *(f"  {name}: {meaning}" for name, meaning in listed)])


def version_text() -> str:
    from voxbatch import __version__

    return f"voxbatch {__version__}"


def show_version(value: bool) -> None:
    """``--version``: print it and exit before any command runs."""
    if value:
        typer.echo(version_text())
        raise typer.Exit()
