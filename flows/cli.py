"""The ``voxbatch`` command: starts flows, and ``voxbatch serve`` starts the core's local audio server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flows import book_options, in_process, markup_options, report_command, run_command, voices_command
from flows.cli_checks import allowed_folders, check_inputs, check_language, check_numbers
from flows.run_command import EXIT_FAILED
from voxbatch.defaults import (
    DEFAULT_AUDIO_FORMAT,
    DEFAULT_AUDIOBOOK_OUT_DIR,
    DEFAULT_STT_MODEL,
    DEFAULT_TRANSCRIPT_FORMATS,
    DEFAULT_TRANSCRIPT_OUT_DIR,
    DEFAULT_TTS_MODEL,
    DEFAULT_TTS_VOICE,
    MAX_IN_FLIGHT,
    NIGHTLY_CRON,
    NIGHTLY_TIMEZONE,
    PROVIDER_UPLOAD_LIMIT_BYTES,
)
from voxbatch.pipelines.transcript.split_options import EMBEDDED_SPLIT, SplitOptions
from voxbatch.server.faults import FaultSpec, FaultSpecError
from voxbatch.server.options import (
    DEFAULT_HOST,
    DEFAULT_MAX_AUDIO_S,
    DEFAULT_MAX_INPUT_CHARS,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_PORT,
    ServerOptions,
)

BYTES_PER_MB = 1024 * 1024

BaseUrlOption = Annotated[
    str | None, typer.Option(help="Any Together-compatible server (default: Together with a key, else embedded).")
]
RpmOption = Annotated[
    float | None, typer.Option(help="Requests per minute for the run (default: learned from the provider's answers).")
]
MaxInFlightOption = Annotated[int, typer.Option(help="Requests in flight at most.")]
CacheDirOption = Annotated[Path | None, typer.Option(help="Chunk cache (default: OUT/.voxbatch-cache).")]
LedgerDirOption = Annotated[Path | None, typer.Option(help="Parquet ledger (default: OUT/ledger).")]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Plan and price the run (chunks, size, cost, wall time); call nothing.")
]
DaskWorkersOption = Annotated[
    int | None, typer.Option(help="Run the task runs on a local Dask cluster of this many worker processes.")
]
DaskAddressOption = Annotated[
    str | None, typer.Option(help="Run the task runs on the Dask cluster whose scheduler is here (tcp://host:8786).")
]
ApiKeySecretOption = Annotated[
    str | None, typer.Option(help="Read the API key from this Prefect Secret block (instead of TOGETHER_API_KEY).")
]
LimitNameOption = Annotated[
    str | None, typer.Option(help="The Prefect global concurrency limit that shares --rpm across Dask workers.")
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout-s",
        help="Seconds each request may take (default: 60 s plus 0.05 s per character, or 1 s per audio second; "
        "6 s on the embedded server).",
    ),
]
MaxCostOption = Annotated[
    float | None,
    typer.Option(help="Start no item whose price would take the run's spend over this many dollars."),
]

AllowPathOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--allow-path",
        help="Also let manifest paths lead into this folder (repeatable); by default only the manifest's folder.",
    ),
]

app = typer.Typer(
    help="voxbatch: batch text-to-speech and speech-to-text on Together AI's audio API.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback unless told otherwise).")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = DEFAULT_PORT,
    api_key: Annotated[
        str | None,
        typer.Option(help="Require this Bearer key (default: accept any).", envvar="VOXBATCH_SERVER_API_KEY"),
    ] = None,
    faults: Annotated[
        str,
        typer.Option(
            help="Fault injection, e.g. 'seed=1,p429=0.1,storm429=4,p503=0.05,cut=0.05,drop=0.01,latency_ms=100'."
        ),
    ] = "",
    rpm: Annotated[float | None, typer.Option(help="Requests per minute before answering 429.")] = None,
    burst: Annotated[int | None, typer.Option(help="Requests allowed back to back (token bucket size).")] = None,
    max_concurrency: Annotated[int | None, typer.Option(help="Requests in flight before 429.")] = None,
    max_input_chars: Annotated[int, typer.Option(help="Longest TTS input.")] = DEFAULT_MAX_INPUT_CHARS,
    max_upload_mb: Annotated[float, typer.Option(help="Largest STT upload (413 above).")] = (
        DEFAULT_MAX_UPLOAD_BYTES / BYTES_PER_MB
    ),
    max_audio_s: Annotated[float, typer.Option(help="Longest STT audio (400 audio_too_long).")] = DEFAULT_MAX_AUDIO_S,
    legacy_stream_chunks: Annotated[bool, typer.Option(help="Stream the older audio.tts.chunk SSE shape.")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Start the local Together-compatible audio server (espeak-ng speech, pocketsphinx recognition)."""
    from voxbatch.server.runner import serve_forever

    try:
        spec = FaultSpec.parse(faults)
    except FaultSpecError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from exc
    options = ServerOptions(
        host=host,
        port=port,
        api_key=api_key,
        faults=spec,
        requests_per_minute=rpm,
        burst_requests=burst,
        max_concurrency=max_concurrency,
        max_input_chars=max_input_chars,
        max_upload_bytes=int(max_upload_mb * BYTES_PER_MB),
        max_audio_s=max_audio_s,
        stream_shape="legacy" if legacy_stream_chunks else "conversation",
    )
    typer.echo(f"voxbatch local audio server on http://{host}:{port}/v1 (stats: /_voxbatch/stats)")
    serve_forever(options, log_level=log_level)


@app.command()
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
        str, typer.Option("--format", help="Default format: mp3, m4b, wav, flac, opus.")
    ] = DEFAULT_AUDIO_FORMAT,
    language: Annotated[str | None, typer.Option(help="Default language code.")] = None,
    author: Annotated[str | None, typer.Option(help="Default author tag.")] = None,
    keep_front_matter: book_options.KeepFrontMatterOption = False,
    transport: book_options.TransportOption = "rest",
    sample_rate: book_options.SampleRateOption = None,
    chapters: book_options.ChaptersOption = "",
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
    """Turn every row of a manuscript manifest into a finished audiobook (with chapters.json and .srt)."""
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
    book = book_options.book_options(keep_front_matter, transport, sample_rate, markup, chapters)

    spec = run_command.run_spec(
        base_url, rpm, chars_per_minute, max_in_flight, cache_dir, ledger_dir, api_key_secret, limit_name, timeout_s
    )
    if dry_run:  # the same lifecycle with execution off, in this process: no server of any kind
        book_options.dry_run(manifest, out, allowed, spec, book, model, voice, language, audio_format, author)
    scale_out = _scale_out(dask_workers, dask_address)
    book_options.finish_if_done(manifest, out, allowed, spec, book, model, voice, language, audio_format, author)
    audiobook_flow = run_command.prepare_run("flows.audiobook", "audiobook_flow")
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
            **book.parameters(),  # front matter, transport, sample rate, markup
        )
    )
    run_command.finish(report)


@app.command()
def stt(
    source: Annotated[
        Path, typer.Argument(help="A CSV/Parquet manifest (audio_path, optional id, language, ...) or a folder.")
    ],
    out: Annotated[Path, typer.Option(help="Where the transcripts are written.")] = Path(DEFAULT_TRANSCRIPT_OUT_DIR),
    model: Annotated[str, typer.Option(help="Default STT model for rows without one.")] = DEFAULT_STT_MODEL,
    language: Annotated[str | None, typer.Option(help="Default spoken language (e.g. en); none: detect.")] = None,
    prompt: Annotated[str | None, typer.Option(help="Default prompt (names, spellings) for Whisper.")] = None,
    diarize: Annotated[bool, typer.Option(help="Label speakers by default.")] = False,
    task: Annotated[str, typer.Option(help="Default task: transcribe, or translate (to English).")] = "transcribe",
    formats: Annotated[str, typer.Option(help="Outputs: any of txt,srt,vtt,json (or all).")] = (
        DEFAULT_TRANSCRIPT_FORMATS
    ),
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
    transcript_flow = run_command.prepare_run("flows.transcripts", "transcript_flow")
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


@app.command()
def schedule(
    tts_manifest: Annotated[Path | None, typer.Option(help="Audiobook manifest to synthesize every night.")] = None,
    stt_source: Annotated[
        Path | None, typer.Option(help="Transcript manifest or folder to transcribe every night.")
    ] = None,
    audiobook_out: Annotated[Path, typer.Option(help="Where the audiobooks go.")] = Path(DEFAULT_AUDIOBOOK_OUT_DIR),
    transcript_out: Annotated[Path, typer.Option(help="Where the transcripts go.")] = Path(DEFAULT_TRANSCRIPT_OUT_DIR),
    cron: Annotated[str, typer.Option(help="When, as a cron expression (default 02:00 every night).")] = NIGHTLY_CRON,
    timezone: Annotated[str, typer.Option(help="The cron's IANA time zone, e.g. Europe/Berlin.")] = NIGHTLY_TIMEZONE,
    base_url: BaseUrlOption = None,
    rpm: Annotated[float | None, typer.Option(help="Requests per minute (shared by Dask workers).")] = None,
    max_in_flight: MaxInFlightOption = MAX_IN_FLIGHT,
    max_cost_usd: MaxCostOption = None,
    api_key_secret: ApiKeySecretOption = None,
    start_server: Annotated[
        bool, typer.Option(help="Start a local `prefect server start` (SQLite) when no PREFECT_API_URL is set.")
    ] = False,
    server_port: Annotated[int, typer.Option(help="Port of the server --start-server starts.")] = 4200,
) -> None:
    """Serve both flows on a nightly schedule from this process (needs a real Prefect server)."""
    import os

    check_numbers({"--rpm": rpm}, {"--max-cost-usd": max_cost_usd}, whole={"--max-in-flight": max_in_flight})

    from voxbatch.run.prefect_server import PrefectServerError, start_local_prefect_server

    if not os.environ.get("PREFECT_API_URL"):
        if not start_server:
            typer.echo(
                "voxbatch schedule needs a real Prefect server: schedules do not run on the embedded one.\n"
                "Start one with `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api,\n"
                "or run `voxbatch schedule --start-server ...` to have one started for you.",
                err=True,
            )
            raise typer.Exit(code=EXIT_FAILED)
        try:
            url = start_local_prefect_server(port=server_port)
        except PrefectServerError as exc:
            typer.echo(f"could not start a Prefect server: {exc}", err=True)
            raise typer.Exit(code=EXIT_FAILED) from exc
        os.environ["PREFECT_API_URL"] = url
        typer.echo(f"started a local Prefect server: {url}", err=True)

    from flows.schedule import NightlyPlan, serve_nightly
    from voxbatch.run.spec import RunSpec

    try:
        plan = NightlyPlan(
            tts_manifest=str(tts_manifest.resolve()) if tts_manifest else None,
            stt_source=str(stt_source.resolve()) if stt_source else None,
            audiobook_out=str(audiobook_out.resolve()),
            transcript_out=str(transcript_out.resolve()),
            cron=cron,
            timezone=timezone,
            spec=RunSpec(
                base_url=base_url, requests_per_minute=rpm, max_in_flight=max_in_flight, api_key_secret=api_key_secret
            ),
            max_cost_usd=max_cost_usd,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    serve_nightly(plan)


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
app.command(name="voices")(voices_command.voices)


def main() -> None:
    """Console entry point."""
    import os

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # there may be no internet at all
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the command prints its own summary
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")  # a local cluster's start/stop chatter
    os.environ.setdefault(
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(run_command.PREFECT_STARTUP_TIMEOUT_S)
    )
    run_command.state.standalone = True
    app()


if __name__ == "__main__":
    main()
