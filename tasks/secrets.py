"""Reading an API key from a Prefect Secret block: the resolver the Prefect layer gives the core."""

from __future__ import annotations

from typing import cast

from prefect.blocks.system import Secret


async def secret_value(block: str) -> str:
    """The value of a Prefect Secret block (never logged)."""
    secret = cast(Secret[str], await Secret.aload(block))
    return str(secret.get())
