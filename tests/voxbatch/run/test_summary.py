"""Run summaries: rows, totals, markdown and text agree, and failures decide the exit code."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from voxbatch.run.report import ItemResult, RunReport
from voxbatch.run.summary import run_failed, summary_markdown, summary_rows, summary_text, totals


def _report(**changes: Any) -> RunReport:
    items = {
        "a": ItemResult("a", "ok", path="out/a.mp3", duration_s=10.5, chunks=3, requests=4, cost_usd=0.01, wall_s=2.0),
        "b": ItemResult("b", "failed", chunks=2, cost_usd=0.0, error="1 of 2 chunks failed: boom | bang", wall_s=1.0),
        "c": ItemResult("c", "skipped_budget", chunks=5, cost_usd=0.0, error="not started under the budget cap"),
    }
    fields: dict[str, Any] = {"items": items, "run_id": "r1", "endpoint": "local", "wall_s": 3.0, "ledger": "L"}
    fields.update(changes)
    return RunReport("audiobook", **fields)


def _with(report: RunReport, item: str, **changes: Any) -> RunReport:
    report.items[item] = replace(report.items[item], **changes)
    return report


def test_rows_and_totals() -> None:
    rows = summary_rows(_report())
    assert [r["item"] for r in rows] == ["a", "b", "c"]
    assert rows[0] == {
        "item": "a",
        "status": "ok",
        "chunks": 3,
        "audio_s": 10.5,
        "cost_usd": 0.01,
        "wall_s": 2.0,
        "error": None,
    }
    t = totals(_report())
    assert t["by_status"] == {"failed": 1, "ok": 1, "skipped_budget": 1} and t["cost_usd"] == 0.01
    assert t["requests"] == 4 and t["audio_s"] == 10.5
    unknown = _with(_report(), "a", cost_usd=None)
    assert totals(unknown)["cost_usd"] is None


def test_markdown_lists_every_item_and_every_problem() -> None:
    markdown = summary_markdown(_report(row_errors=["row 9, column 'id': is empty"], budget_usd=0.5), "Audiobook run")
    assert markdown.startswith("# Audiobook run\n")
    assert "| a | ok | 3 | 10.5 | 0.01 | 2 |  |" in markdown
    assert "boom \\| bang" in markdown  # a pipe in an error does not break the table
    assert "## Problems" in markdown and "row 9" in markdown and "budget cap: $0.5000" in markdown


def test_text_and_exit_decision() -> None:
    text = summary_text(_report())
    assert "ok a: out/a.mp3 (10.5 s, 3 chunks, 4 requests, $0.0100)" in text
    assert "FAILED b: 1 of 2 chunks failed" in text and "SKIPPED_BUDGET c" in text
    assert text.splitlines()[-1] == "ledger: L (run r1)"
    assert run_failed(_report())
    ok = _report()
    del ok.items["b"]
    assert not run_failed(ok)
    assert run_failed(_report(items={}, row_errors=["row 2: bad"]))


def test_possibly_billed_calls_are_named_apart_from_the_cost() -> None:
    assert "possibly billed" not in summary_text(_report())  # nothing timed out: no line
    report = _report()
    report = _with(report, "b", possibly_billed_usd=0.002)  # an attempt timed out after it was sent
    assert totals(report)["possibly_billed_usd"] == 0.002
    text = summary_text(report)
    assert "$0.0100, 4 requests" in text  # the sure cost is unchanged
    assert "possibly billed besides: $0.0020" in text and "voxbatch report" in text
    report = _with(report, "a", possibly_billed_usd=None)  # one of their prices is unknown
    assert "possibly billed besides: unknown" in summary_text(report)


def test_a_flagged_item_is_named_and_fails_the_exit_code() -> None:
    flag = "1 of 3 chunks still bad after their repeats; chunk 2: 2.0 s of audio where its text takes about 9.0 s"
    report = _report()
    del report.items["b"], report.items["c"]
    assert not run_failed(report) and totals(report)["flagged"] == 0
    report = _with(report, "a", flags=(flag,))
    text = summary_text(report)
    assert f"FLAGGED a: {flag}" in text and "total: 1 ok (1 flagged)" in text
    assert "ok a: out/a.mp3" in text  # the book is there all the same
    assert f"- `a` (flagged): {flag}" in summary_markdown(report, "Audiobook run")
    assert run_failed(report) and totals(report)["flagged"] == 1
