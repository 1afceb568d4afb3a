"""``voxbatch voices``: the models and voices of the server a run would use, as a table or JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.option_aliases import renamed
from flows.run_options import BaseUrlOption

VOICE_FORMATS = ("table", "json")


def voices(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Only this model, with all its voices.")] = None,
    output_format: Annotated[str, typer.Option("--as", help="Print as a table or json.")] = "table",
    old_format: Annotated[str | None, typer.Option("--format", hidden=True)] = None,  # before --as
    base_url: BaseUrlOption = None,
) -> None:
    """List the models and voices of the server a run would use (with no key or URL: the embedded one, started
    for the listing)."""
    import asyncio

    from voxbatch.run.catalog_source import ask_server
    from voxbatch.run.catalog_text import UnknownModel, catalog_json, catalog_table
    from voxbatch.run.spec import RunSpec

    output_format = renamed(ctx, "output_format", "--as", output_format, "--format", old_format)
    if output_format not in VOICE_FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(VOICE_FORMATS)}", param_hint="--as")
    spec = RunSpec(base_url=base_url)
    try:
        catalog = asyncio.run(ask_server(spec, notice=lambda line: typer.echo(line, err=True)))
    except Exception as exc:  # the server unreachable, a key refused, a bad URL: one line, never a traceback
        typer.echo(f"could not list the models and voices: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    try:
        text = catalog_json(catalog, model) if output_format == "json" else catalog_table(catalog, model)
    except UnknownModel as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(text, nl=False)
