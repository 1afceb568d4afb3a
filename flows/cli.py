"""The ``voxbatch`` command: starts flows, and ``voxbatch serve`` starts the core's local audio server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flows import (
    audit_options,
    book_options,
    in_process,
    markup_options,
    report_command,
    run_command,
    schedule_command,
    serve_command,
    voices_command,
)
from flows.cli_checks import allowed_folders, check_inputs, check_language, check_numbers
from flows.cli_help import environment_epilog, show_version
from flows.option_aliases import renamed
from flows.run_options import (
    BYTES_PER_MB,
    AllowPathOption,
    ApiKeySecretOption,
    BaseUrlOption,
    CacheDirOption,
    DaskAddressOption,
    DaskWorkersOption,
    DryRunOption,
    LedgerDirOption,
    LimitNameOption,
    MaxCostOption,
    MaxInFlightOption,
    RpmOption,
    TimeoutOption,
)
from voxbatch.defaults import (
    DEFAULT_AUDIO_FORMAT,
    DEFAULT_AUDIOBOOK_OUT_DIR,
    DEFAULT_STT_MODEL,
    DEFAULT_TRANSCRIPT_FORMATS,
    DEFAULT_TRANSCRIPT_OUT_DIR,
    DEFAULT_TTS_MODEL,
    DEFAULT_TTS_VOICE,
    MAX_IN_FLIGHT,
    PROVIDER_UPLOAD_LIMIT_BYTES,
)
from voxbatch.environment import (
    API_KEY_ENV,
    BASE_URL_ENV,
    PREFECT_API_URL_ENV,
    PREFECT_LOGGING_LEVEL_ENV,
    PREFECT_STARTUP_TIMEOUT_ENV,
    PRICES_FILE_ENV,
    SERVER_API_KEY_ENV,
    STOP_GRACE_ENV,
)
from voxbatch.pipelines.transcript.split_options import EMBEDDED_SPLIT, SplitOptions

__all__ = ["BYTES_PER_MB", "app", "main"]

RUN_ENVIRONMENT = environment_epilog(
    API_KEY_ENV,
    BASE_URL_ENV,
    PREFECT_API_URL_ENV,
    PREFECT_STARTUP_TIMEOUT_ENV,
    PREFECT_LOGGING_LEVEL_ENV,
    STOP_GRACE_ENV,
    PRICES_FILE_ENV,
)

app = typer.Typer(
    help="voxbatch: batch text-to-speech and speech-to-text on Together AI's audio API.",
    epilog=environment_epilog(),
    no_args_is_help=True,
)


@app.callback()
def _top(
    version: Annotated[
        bool | None,
        typer.Option("--version", help="Show the version and exit.", callback=show_version, is_eager=True),
    ] = None,
) -> None:
    """voxbatch: batch text-to-speech and speech-to-text on Together AI's audio API."""


@app.command(epilog=RUN_ENVIRONMENT)
def tts(
    manifest: Annotated[Path, typer.Argument(help="CSV or Parquet manifest: id, text or text_path, and options.")],
    out: Annotated[Path, typer.Option(help="Where the audiobooks are written.")] = Path(DEFAULT_AUDIOBOOK_OUT_DIR),
    model: Annotated[str, typer.Option(help="Default TTS model for rows without one.")] = DEFAULT_TTS_MODEL,
    voice: Annotated[
        str | None,
        typer.Option(
            help="Default voice for rows without one (default: the row's model's own voice, "
            f"{DEFAULT_TTS_VOICE} for {DEFAULT_TTS_MODEL})."
        ),
    ] = None,
    audio_format: Annotated[
        str, typer.Option("--format", help="Audiobook format for rows without one: mp3, m4b, wav, flac or opus.")
    ] = DEFAULT_AUDIO_FORMAT,
    language: Annotated[str | None, typer.Option(help="Default language code.")] = None,
    author: Annotated[str | None, typer.Option(help="Default author tag.")] = None,
    keep_front_matter: book_options.KeepFrontMatterOption = False,
    transport: book_options.TransportOption = "rest",
    sample_rate: book_options.SampleRateOption = None,
    chapters: book_options.ChaptersOption = "",
    readalong: book_options.ReadalongOption = None,
    audit: audit_options.AuditOption = "off",
    dialogue_voice: markup_options.DialogueVoiceOption = None,
    cast: markup_options.CastOption = None,
    lexicon: markup_options.LexiconOption = None,
    pause_sentence_s: markup_options.PauseSentenceOption = None,
    pause_paragraph_s: markup_options.PauseParagraphOption = None,
    pause_chapter_s: markup_options.PauseChapterOption = None,
    base_url: BaseUrlOption = None,
    rpm: RpmOption = None,
    chars_per_minute: Annotated[float | None, typer.Option(help="Characters per minute for the run.")] = None,
    max_in_flight: MaxInFlightOption = MAX_IN_FLIGHT,
    cache_dir: CacheDirOption = None,
    ledger_dir: LedgerDirOption = None,
    dry_run: DryRunOption = False,
    max_cost_usd: MaxCostOption = None,
    dask_workers: DaskWorkersOption = None,
    dask_address: DaskAddressOption = None,
    api_key_secret: ApiKeySecretOption = None,
    limit_name: LimitNameOption = None,
    allow_path: AllowPathOption = None,
    timeout_s: TimeoutOption = None,
) -> None:
    """Turn every row of a manuscript manifest into a finished audiobook (with chapters, captions and word times)."""
    check_numbers(
        {"--rpm": rpm, "--chars-per-minute": chars_per_minute, "--timeout-s": timeout_s},
        {"--max-cost-usd": max_cost_usd},
        whole={"--max-in-flight": max_in_flight, "--dask-workers": dask_workers, "--sample-rate": sample_rate},
    )
    allowed = allowed_folders(allow_path)
    check_inputs("tts", manifest, allowed)
    markup = markup_options.markup_defaults(
        dialogue_voice, cast, lexicon, pause_sentence_s, pause_paragraph_s, pause_chapter_s
    )
    book = book_options.book_options(keep_front_matter, transport, sample_rate, markup, chapters, readalong, audit)

    spec = run_command.run_spec(
        base_url, rpm, chars_per_minute, max_in_flight, cache_dir, ledger_dir, api_key_secret, limit_name, timeout_s
    )
    rows = book_options.BookRows(manifest, allowed, book, model, voice, language, audio_format, author)
    if dry_run:  # the same lifecycle with execution off, in this process: no server of any kind
        book_options.dry_run(out, spec, rows)
    scale_out = _scale_out(dask_workers, dask_address)
    book_options.finish_if_done(out, spec, rows)
    audiobook_flow = run_command.prepare_run("flows.audiobook", "audiobook_flow", spec)
    report = run_command.run_flow(
        lambda: audiobook_flow(
            str(manifest),
            str(out),
            model,
            voice,
            audio_format,
            language,
            author,
            spec=spec,
            dry_run=dry_run,
            max_cost_usd=max_cost_usd,
            scale_out=scale_out,
            allow_paths=allowed,
            **book.parameters(),  # front matter, transport, sample rate, markup, audit
        )
    )
    run_command.finish(report)


@app.command(epilog=RUN_ENVIRONMENT)
def stt(
    ctx: typer.Context,
    source: Annotated[
        Path, typer.Argument(help="A CSV/Parquet manifest (audio_path, optional id, language, ...) or a folder.")
    ],
    out: Annotated[Path, typer.Option(help="Where the transcripts are written.")] = Path(DEFAULT_TRANSCRIPT_OUT_DIR),
    model: Annotated[str, typer.Option(help="Default STT model for rows without one.")] = DEFAULT_STT_MODEL,
    language: Annotated[str | None, typer.Option(help="Default spoken language (e.g. en); none: detect.")] = None,
    prompt: Annotated[str | None, typer.Option(help="Default prompt (names, spellings) for Whisper.")] = None,
    diarize: Annotated[bool, typer.Option(help="Label speakers by default.")] = False,
    task: Annotated[str, typer.Option(help="Default task: transcribe, or translate (to English).")] = "transcribe",
    formats: Annotated[
        str, typer.Option("--format", help="Transcript formats to write: any of txt,srt,vtt,json (comma list) or all.")
    ] = DEFAULT_TRANSCRIPT_FORMATS,
    old_formats: Annotated[str | None, typer.Option("--formats", hidden=True)] = None,  # before --format
    split_above_s: Annotated[
        float | None,
        typer.Option(
            help=f"Split files longer than this many seconds (default {SplitOptions.split_above_s:g}; "
            f"{EMBEDDED_SPLIT.split_above_s:g} on the embedded server)."
        ),
    ] = None,
    chunk_s: Annotated[
        float | None,
        typer.Option(
            help=f"Target chunk length in seconds for split files (default {SplitOptions.target_chunk_s:g}; "
            f"{EMBEDDED_SPLIT.target_chunk_s:g} on the embedded server)."
        ),
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(help="Split files larger than this (the provider's limit).")] = (
        PROVIDER_UPLOAD_LIMIT_BYTES / BYTES_PER_MB
    ),
    base_url: BaseUrlOption = None,
    rpm: RpmOption = None,
    audio_s_per_minute: Annotated[float | None, typer.Option(help="Audio seconds per minute for the run.")] = None,
    max_in_flight: MaxInFlightOption = MAX_IN_FLIGHT,
    cache_dir: CacheDirOption = None,
    ledger_dir: LedgerDirOption = None,
    dry_run: DryRunOption = False,
    max_cost_usd: MaxCostOption = None,
    dask_workers: DaskWorkersOption = None,
    dask_address: DaskAddressOption = None,
    api_key_secret: ApiKeySecretOption = None,
    limit_name: LimitNameOption = None,
    allow_path: AllowPathOption = None,
    timeout_s: TimeoutOption = None,
) -> None:
    """Transcribe every recording of a manifest or folder into .txt, .srt, .vtt and .json (long files split)."""
    from dataclasses import replace

    formats = renamed(ctx, "formats", "--format", formats, "--formats", old_formats)
    check_numbers(
        {
            "--rpm": rpm,
            "--audio-s-per-minute": audio_s_per_minute,
            "--split-above-s": split_above_s,
            "--chunk-s": chunk_s,
            "--max-upload-mb": max_upload_mb,
            "--timeout-s": timeout_s,
        },
        {"--max-cost-usd": max_cost_usd},
        whole={"--max-in-flight": max_in_flight, "--dask-workers": dask_workers},
    )
    language = check_language(model, language)
    allowed = allowed_folders(allow_path)

    from voxbatch.manifest.stt import TASKS, SttDefaults
    from voxbatch.pipelines.transcript.outputs import parse_formats

    if task not in TASKS:
        raise typer.BadParameter(f"must be one of {', '.join(TASKS)}", param_hint="--task")
    try:
        parse_formats(formats)
        split = None  # not given: chosen for the endpoint
        if split_above_s is not None or chunk_s is not None:
            base = SplitOptions()
            split = replace(
                base,
                split_above_s=base.split_above_s if split_above_s is None else split_above_s,
                target_chunk_s=base.target_chunk_s if chunk_s is None else chunk_s,
            )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    check_inputs("stt", source, allowed)
    spec = run_command.run_spec(
        base_url,
        rpm,
        audio_s_per_minute,
        max_in_flight,
        cache_dir,
        ledger_dir,
        api_key_secret,
        limit_name,
        timeout_s,
    )
    defaults = SttDefaults(
        model=model,
        language=language,
        prompt=prompt,
        diarize=diarize,
        task="translate" if task == "translate" else "transcribe",
    )
    scale_out = _scale_out(dask_workers, dask_address)
    upload_bytes = int(max_upload_mb * BYTES_PER_MB)  # the dry run, or every file already done, ends here:
    in_process.transcripts(source, out, defaults, allowed, formats, split, upload_bytes, spec, dry_run)
    transcript_flow = run_command.prepare_run("flows.transcripts", "transcript_flow", spec)
    report = run_command.run_flow(
        lambda: transcript_flow(
            str(source),
            str(out),
            defaults,
            formats,
            split,
            max_upload_bytes=upload_bytes,
            spec=spec,
            dry_run=dry_run,
            max_cost_usd=max_cost_usd,
            scale_out=scale_out,
            allow_paths=allowed,
        )
    )
    run_command.finish(report)


def _scale_out(workers: int | None, address: str | None) -> Any:
    """The Dask cluster to run on, or None for one process."""
    if workers is None and address is None:
        return None
    from tasks.scale.dask import ScaleOut

    try:
        return ScaleOut(address=address, workers=workers)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


app.command(name="report")(report_command.report)
app.command(name="voices", epilog=environment_epilog(API_KEY_ENV, BASE_URL_ENV))(voices_command.voices)
app.command(name="schedule", epilog=RUN_ENVIRONMENT)(schedule_command.schedule)
app.command(name="serve", epilog=environment_epilog(SERVER_API_KEY_ENV))(serve_command.serve)


def main() -> None:
    """Console entry point."""
    import os

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # there may be no internet at all
    os.environ.setdefault(PREFECT_LOGGING_LEVEL_ENV, "WARNING")  # the command prints its own summary
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")  # a local cluster's start/stop chatter
    os.environ.setdefault(PREFECT_STARTUP_TIMEOUT_ENV, str(run_command.PREFECT_STARTUP_TIMEOUT_S))
    run_command.state.standalone = True
    app(prog_name="voxbatch")  # also as `python -m flows.cli`: the usage lines and shell completion say voxbatch


if __name__ == "__main__":
    main()
