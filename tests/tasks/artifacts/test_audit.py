"""Each book's audit as a table artifact of its flow run: one row per chunk, read from its audit report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import UUID

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.context import FlowRunContext

from tasks.artifacts.audit import audit_key, publish_audits
from voxbatch.audit.options import NO_AUDIT
from voxbatch.audit.report import AuditedChunk, audit_document, write_audit
from voxbatch.audit.verdict import ChunkCheck
from voxbatch.run.report import ItemResult, RunReport


def _report(tmp_path: Path) -> RunReport:
    check = ChunkCheck(300, 18.0, 7.0, None, None, None, attempts=2, repeats=("short",), problem="7.0 s of audio")
    document = audit_document("Book_1", "Book_1.mp3", [AuditedChunk(0, 0, check)], NO_AUDIT)
    path = write_audit(tmp_path / "Book_1.audit.json", document)
    items = {
        "Book_1": ItemResult("Book_1", "ok", paths={"audit": str(path)}),
        "gone": ItemResult("gone", "ok", paths={"audit": str(tmp_path / "missing.json")}),  # logged, not raised
        "failed": ItemResult("failed", "failed", error="boom"),
    }
    return RunReport("audiobook", items=items)


def test_keys_are_artifact_safe() -> None:
    assert audit_key("Book_1") == "audit-book-1" and audit_key("__") == "audit-book"


def test_outside_a_flow_run_nothing_is_published(tmp_path: Path) -> None:
    assert asyncio.run(publish_audits(_report(tmp_path))) == 0


def test_a_table_per_book_in_the_flow_run(prefect_api_url: str, tmp_path: Path) -> None:
    @flow(name="audit-artifact-test")
    async def publishing() -> tuple[int, UUID]:
        context = FlowRunContext.get()
        assert context is not None and context.flow_run is not None
        return await publish_audits(_report(tmp_path)), context.flow_run.id

    async def artifacts(flow_run_id: UUID) -> list[object]:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
            )

    published, flow_run_id = asyncio.run(publishing())
    assert published == 1
    (artifact,) = [a for a in asyncio.run(artifacts(flow_run_id)) if a.type == "table"]  # type: ignore[attr-defined]
    assert artifact.key == "audit-book-1" and "1 repeated, 1 still bad" in artifact.description  # type: ignore[attr-defined]
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data  # type: ignore[attr-defined]
    assert rows[0]["chunk"] == 0 and rows[0]["attempts"] == 2 and rows[0]["problem"] == "7.0 s of audio"
