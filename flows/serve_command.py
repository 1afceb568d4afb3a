"""``voxbatch serve``: the core's local Together-compatible audio server, in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.run_options import BYTES_PER_MB
from voxbatch.environment import SERVER_API_KEY_ENV
from voxbatch.server.faults import FaultSpec, FaultSpecError
from voxbatch.server.options import (
    DEFAULT_HOST,
    DEFAULT_MAX_AUDIO_S,
    DEFAULT_MAX_INPUT_CHARS,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_PORT,
    ServerOptions,
)


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback unless told otherwise).")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = DEFAULT_PORT,
    api_key: Annotated[
        str | None,
        typer.Option(help="Require this Bearer key (default: accept any).", envvar=SERVER_API_KEY_ENV),
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
