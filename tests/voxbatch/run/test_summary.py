"""Run summaries: rows, totals, markdown and text agree, and failures decide the exit code."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from voxbatch.run.report import ItemResult, RunReport, WorkerUse
from voxbatch.run.summary import run_failed, summary_markdown, summary_rows, summary_text, totals, workers_text


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


def test_every_line_of_the_text_word_for_word() -> None:
    """The whole summary a user reads, for one item of one chunk (singular nouns) and one of several (plural)."""
    items = {
        "solo": ItemResult("solo", "ok", path="out/solo.mp3", duration_s=1.5, chunks=1, requests=1, cost_usd=0.0001),
        "a": ItemResult("a", "ok", path="out/a.mp3", duration_s=10.5, chunks=3, requests=4, cost_usd=0.01),
        "b": ItemResult("b", "failed", chunks=1, error="1 of 1 chunk failed; first: chunk 0: ServerError: 500"),
        "c": ItemResult("c", "skipped", path="out/c.mp3", duration_s=2.0, chunks=0, requests=0),
    }
    report = _report(items=items, row_errors=["row 6 (id 'x'), column 'text': is empty"], wall_s=2.5)
    report.workers = WorkerUse(used=2, units=5, expected=2)
    assert summary_text(report).splitlines() == [
        "            ok solo: out/solo.mp3 (1.5 s, 1 chunk, 1 request, $0.0001)",
        "            ok a: out/a.mp3 (10.5 s, 3 chunks, 4 requests, $0.0100)",
        "        FAILED b: 1 of 1 chunk failed; first: chunk 0: ServerError: 500",
        "       skipped c: out/c.mp3 (2.0 s, 0 chunks, 0 requests, $0.0000)",
        "   SKIPPED ROW row 6 (id 'x'), column 'text': is empty",
        "total: 1 failed, 2 ok, 1 skipped; $0.0101, 5 requests, 2.5 s on local",
        "task runs ran on 2 Dask worker processes",
        "ledger: L (run r1)",
    ]
    one = _report(items={"solo": items["solo"]})
    assert "total: 1 ok; $0.0001, 1 request, 3.0 s on local" in summary_text(one).splitlines()
    assert "- cost: $0.0001; requests: 1; audio: 1.5 s; wall time: 3.0 s" in summary_markdown(one, "Run")
    assert "task runs" not in summary_text(one)  # no cluster: no line about one


@pytest.mark.parametrize(
    ("use", "line"),
    [
        (WorkerUse(used=2, units=9, cluster=2, expected=2), "task runs ran on 2 Dask worker processes"),
        (WorkerUse(used=1, units=4, cluster=1), "task runs ran on 1 Dask worker process (all the cluster had)"),
        (
            WorkerUse(used=1, units=1, cluster=2, expected=2),
            "task runs ran on 1 of 2 Dask worker processes: the run had only 1 unit of work (a chapter or a file "
            "each) to send",
        ),
        (
            WorkerUse(used=1, units=6, cluster=1, expected=2),
            "task runs ran on 1 of 2 Dask worker processes: only 1 had connected to the scheduler when the run sent "
            "its first unit of work",
        ),
        (
            WorkerUse(used=1, units=6, cluster=3),
            "task runs ran on 1 of 3 Dask worker processes: Dask's scheduler chose where all 6 units of work ran",
        ),
        (
            WorkerUse(used=0, units=0, expected=2),
            "task runs: no unit of work needed the Dask cluster (every item was done or not started)",
        ),
        (
            WorkerUse(used=0, units=1, cluster=2),
            "task runs: no unit of work came back from the Dask cluster (1 unit sent)",
        ),
        (WorkerUse(used=3, units=3), "task runs ran on 3 Dask worker processes"),  # the cluster could not be asked
    ],
)
def test_the_dask_line_says_why_fewer_workers_ran(use: WorkerUse, line: str) -> None:
    assert workers_text(use) == line
    report = _report()
    report.workers = use
    assert line in summary_text(report).splitlines() and f"- {line}" in summary_markdown(report, "Run")
    assert report.worker_processes == use.used


def test_every_line_of_the_markdown_word_for_word() -> None:
    report = _report(row_errors=["row 9, column 'id': is empty"], budget_usd=0.5)
    report.workers = WorkerUse(used=1, units=1, cluster=2, expected=2)
    assert summary_markdown(report, "Audiobook run").splitlines() == [
        "# Audiobook run",
        "",
        "- run: `r1` on local",
        "- items: 3 (1 failed, 1 ok, 1 skipped_budget); bad rows: 1",
        "- cost: $0.0100; requests: 4; audio: 10.5 s; wall time: 3.0 s",
        "- budget cap: $0.5000",
        "- task runs ran on 1 of 2 Dask worker processes: the run had only 1 unit of work (a chapter or a file each) "
        "to send",
        "",
        "| item | status | chunks | audio_s | cost_usd | wall_s | error |",
        "|---|---|---|---|---|---|---|",
        "| a | ok | 3 | 10.5 | 0.01 | 2 |  |",
        "| b | failed | 2 |  | 0 | 1 | 1 of 2 chunks failed: boom \\| bang |",
        "| c | skipped_budget | 5 |  | 0 |  | not started under the budget cap |",
        "",
        "## Problems",
        "",
        "- `b` (failed): 1 of 2 chunks failed: boom | bang",
        "- `c` (skipped_budget): not started under the budget cap",
        "- row 9, column 'id': is empty",
    ]


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
