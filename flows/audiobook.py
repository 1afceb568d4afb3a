"""The audiobook flow: a manuscript manifest in, one finished audiobook per valid row out.

Wiring only: the rows are loaded, and :class:`~voxbatch.pipelines.audiobook.pipeline.AudiobookPipeline` is handed
to the run kernel (:mod:`voxbatch.run.kernel`, through :func:`tasks.run.run_pipeline`). Chapters of all books are
synthesized concurrently through one client and one rate limiter (or on Dask workers with ``scale_out``); a chunk
that still fails after the client's retries fails its book, and the other books finish. With ``dry_run`` nothing
is called: the books are planned and priced. With ``max_cost_usd`` a book starts only if its price (uncached
chunks) fits in what the cap has left; the others are recorded as ``skipped_budget`` for a later run. Every chunk's
duration is checked against its text; with ``audit`` (on, free or a speech-to-text model) every chunk is heard back
too (:mod:`voxbatch.audit`).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.book_options import BookOptions, book_defaults
from tasks.run import flow_run_name, run_pipeline
from tasks.scale.dask import ScaleOut
from tasks.steps import load_tts_rows
from voxbatch.audit.options import parse_audit
from voxbatch.defaults import DEFAULT_AUDIO_FORMAT, DEFAULT_AUDIOBOOK_OUT_DIR, DEFAULT_TTS_MODEL
from voxbatch.manifest.markup import MarkupDefaults
from voxbatch.pipelines.audiobook.pipeline import AudiobookPipeline
from voxbatch.run.report import RunReport
from voxbatch.run.spec import RunSpec


@flow(name="audiobook", flow_run_name=flow_run_name)  # "audiobook: books.csv (3 items)"
async def audiobook_flow(
    manifest: str,
    out_dir: str = DEFAULT_AUDIOBOOK_OUT_DIR,
    model: str = DEFAULT_TTS_MODEL,
    voice: str | None = None,  # None: each book's model's default voice
    audio_format: str = DEFAULT_AUDIO_FORMAT,
    language: str | None = None,
    author: str | None = None,
    spec: RunSpec | None = None,
    dry_run: bool = False,
    max_cost_usd: float | None = None,
    scale_out: ScaleOut | None = None,
    allow_paths: list[str] | None = None,
    keep_front_matter: bool = False,
    transport: str = "rest",  # rest, sse or websocket (a row's transport column wins)
    sample_rate_hz: int | None = None,  # None: each book's model's own rate (a row's sample_rate column wins)
    markup: MarkupDefaults | None = None,
    chapters: str = "",  # only these body chapters (1-3,7 or titles) of rows without a chapters column
    readalong: bool | None = None,  # write <id>.readalong.epub too (None: for EPUB manuscripts); a row's column wins
    audit: str = "off",  # hear every chunk back: on, free or a speech-to-text model (voxbatch.audit.options)
) -> RunReport:
    """Turn every valid row of ``manifest`` into ``out_dir/<id>.<format>`` plus chapters.json, captions (.srt,
    .vtt), words.json and audit.json.

    The manifest's paths must stay inside its folder or inside one of ``allow_paths`` (``--allow-path``);
    ``keep_front_matter`` reads manuscripts' front and back matter for rows without a ``front_matter`` column;
    ``markup``: the dialogue voice, cast, lexicon and pauses of rows that do not name their own; ``readalong``: also
    write the book's read-along EPUB once its words.json exists (:mod:`voxbatch.pipelines.audiobook.readalong`).
    """
    book = BookOptions(keep_front_matter, transport, sample_rate_hz, markup or MarkupDefaults(), chapters, readalong)
    defaults = book_defaults(model, voice, language, audio_format, author, book)
    rows, row_errors = load_tts_rows(manifest, defaults, allow_paths)
    return await run_pipeline(
        AudiobookPipeline(Path(out_dir), loudness_chart=(spec or RunSpec()).charts_on(), audit=parse_audit(audit)),
        rows,
        row_errors,
        source=manifest,
        spec=spec,
        dry_run=dry_run,
        max_cost_usd=max_cost_usd,
        scale_out=scale_out,
    )
