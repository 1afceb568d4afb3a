"""Options renamed so one spelling means one idea in every command (``--format``: the format of the files a run
writes; ``--as``: how a listing is printed). The old spellings keep working as hidden aliases that say, in one
line on stderr, what to write instead; given together with the new spelling they are a usage error."""

from __future__ import annotations

from typing import TypeVar

import typer

from flows.cli_checks import usage_error

T = TypeVar("T")


def renamed(ctx: typer.Context, name: str, new_flag: str, new_value: T, old_flag: str, old_value: T | None) -> T:
    """The option's value: ``old_value`` (with a deprecation note) when only the old spelling was given."""
    if old_value is None:
        return new_value
    source = ctx.get_parameter_source(name)  # typer's own copy of click's ParameterSource: compared by name
    if source is not None and source.name != "DEFAULT":
        usage_error(f"{old_flag} is the old spelling of {new_flag}: give only {new_flag}")
    typer.echo(f"note: {old_flag} is deprecated; use {new_flag} (same values)", err=True)
    return old_value
