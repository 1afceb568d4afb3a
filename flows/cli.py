"""The ``voxbatch`` command: starts flows, and ``voxbatch serve`` starts the core's local audio server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
            help="Fault injection, e.g. 'seed=1,p429=0.1,p503=0.05,cut=0.05,drop=0.01,latency_ms=100,ttfb_ms=20'."
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
def demo(
    manifests: Annotated[Path, typer.Option(help="Folder with the demo manifests.")] = Path("manifests"),
    out: Annotated[Path, typer.Option(help="Where results are written.")] = Path("out/demo"),
) -> None:
    """Run the demo manifests on the embedded local server (one speech and one transcription call)."""
    from voxbatch.demo import run_demo

    for line in run_demo(manifests, out):
        typer.echo(line)


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
