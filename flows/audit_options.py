"""``voxbatch tts --audit``: whether every chunk is heard back, and by what (:mod:`voxbatch.audit.options`).

The value travels as the audiobook flow's ``audit`` parameter, a plain string of the same grammar, so a deployment
or a Prefect UI run takes it as the command does.
"""

from __future__ import annotations

from typing import Annotated

import typer

AuditOption = Annotated[
    str,
    typer.Option(
        help="Hear every chunk back and synthesize again the ones missing speech: on (the endpoint's speech-to-text, "
        "paid), free (pocketsphinx on this machine), or a speech-to-text model name; off (default) checks every "
        "chunk's duration only. Writes <id>.audit.json.",
    ),
]


def audit_setting(value: str) -> str:
    """``value`` once it reads as an audit setting (else exit 2 naming ``--audit``)."""
    from voxbatch.audit.options import AuditError, parse_audit

    try:
        return parse_audit(value).describe()
    except AuditError as exc:
        raise typer.BadParameter(str(exc), param_hint="--audit") from exc
