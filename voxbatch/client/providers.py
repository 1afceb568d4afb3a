"""Provider dialects: how a request is spelled for Together and for OpenAI-compatible servers.

| | Together | OpenAI-compatible (OpenAI, speaches, Kokoro-FastAPI) |
|---|---|---|
| raw PCM | ``response_format: raw`` + ``response_encoding`` | ``response_format: pcm`` (24 kHz s16le) |
| streaming | ``stream: true``; ``conversation.item.*`` events | ``stream_format: sse``; ``speech.audio.delta`` |
| word timings | ``alignment: word`` (streaming) | not offered |
| granularities | ``timestamp_granularities`` (repeated) | ``timestamp_granularities[]`` |
| STT extras | ``diarize``, ``min_speakers``, ``max_speakers`` | left out |

Both always get ``model`` (OpenAI requires it), first in multipart bodies so servers can route early.
"""

from __future__ import annotations

from typing import Any

from voxbatch.client.call_options import SpeechOptions, TranscriptionOptions
from voxbatch.client.options import Provider


def speech_body(provider: Provider, text: str, opts: SpeechOptions, stream: bool) -> dict[str, Any]:
    """The JSON body of a speech request in ``provider``'s dialect."""
    openai = provider == "openai"
    body: dict[str, Any] = {"model": opts.model, "input": text, "voice": opts.voice}
    if opts.audio_format == "pcm" or stream:
        body["response_format"] = "pcm" if openai else "raw"
        if not openai:
            body["response_encoding"] = opts.encoding
    else:
        body["response_format"] = opts.audio_format
    if opts.sample_rate_hz is not None and not openai:
        body["sample_rate"] = opts.sample_rate_hz
    if opts.language is not None:
        body["language"] = opts.language
    if stream:
        if openai:
            body["stream_format"] = "sse"
        else:
            body["stream"] = True
            if opts.word_timestamps:
                body["alignment"] = "word"
    return {**body, **opts.extra}


def stt_fields(provider: Provider, opts: TranscriptionOptions, task: str) -> list[tuple[str, str]]:
    """The multipart form fields of a transcription/translation, model first, in ``provider``'s dialect."""
    openai = provider == "openai"
    fields: list[tuple[str, str]] = [("model", opts.model)]  # model first: servers route on it
    if opts.language is not None:
        fields.append(("language", opts.language))
    if opts.prompt is not None:
        fields.append(("prompt", opts.prompt))
    fields.append(("response_format", opts.response_format))
    if opts.temperature is not None:
        fields.append(("temperature", str(opts.temperature)))
    if opts.response_format == "verbose_json":
        name = "timestamp_granularities[]" if openai else "timestamp_granularities"
        fields += [(name, g) for g in opts.timestamp_granularities]
    if task == "transcribe" and not openai:
        if opts.diarize:
            fields.append(("diarize", "true"))
        if opts.min_speakers is not None:
            fields.append(("min_speakers", str(opts.min_speakers)))
        if opts.max_speakers is not None:
            fields.append(("max_speakers", str(opts.max_speakers)))
    return fields
