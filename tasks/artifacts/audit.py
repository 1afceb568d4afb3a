"""Publishing each book's audit as a Prefect table artifact: one row per chunk (duration against what its text
predicts, coverage, attempts, problem, sentences never heard), read from the book's ``<id>.audit.json``.

Artifacts belong to the flow run they are created in; outside a flow run this does nothing.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from prefect.artifacts import acreate_table_artifact
from prefect.context import FlowRunContext

from voxbatch.audit.report import table_rows
from voxbatch.run.report import RunReport

AUDIT_PATH_KIND = "audit"  # the ItemResult.paths entry of a book's audit report
_KEY_UNSAFE = re.compile(r"[^a-z0-9]+")  # artifact keys are lowercase letters, digits and dashes


def audit_key(item_id: str) -> str:
    """The artifact key of a book's audit: ``audit-<id>`` made of lowercase letters, digits and dashes."""
    return "audit-" + (_KEY_UNSAFE.sub("-", item_id.lower()).strip("-") or "book")


async def publish_audits(report: RunReport, logger: Any = None) -> int:
    """One table artifact per book that wrote an audit report in this run; returns how many were published. A
    report that cannot be read, or a Prefect API hiccup, is logged, never allowed to fail a run whose work is done."""
    if FlowRunContext.get() is None:
        return 0
    log = logger or logging.getLogger(__name__)
    published = 0
    for item_id, result in report.items.items():
        path = result.paths.get(AUDIT_PATH_KIND)
        if path is None or result.status != "ok":
            continue
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            totals = document.get("totals", {})
            await acreate_table_artifact(
                table=table_rows(document),
                key=audit_key(item_id),
                description=(
                    f"{item_id}: {totals.get('chunks')} chunks, {totals.get('repeated')} repeated, "
                    f"{totals.get('flagged')} still bad (audit: {document.get('audit')})"
                ),
            )
            published += 1
        except Exception as exc:
            log.warning("audit artifact of %s not written: %s", item_id, exc)
    return published
