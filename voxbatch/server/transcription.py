"""``POST /v1/audio/transcriptions`` and ``/v1/audio/translations`` on pocketsphinx (or, for tests, on the
stand-in of :mod:`voxbatch.server.fake_recognizer` when ``ServerOptions.recognizer`` is ``"fake"``).

Uploads are multipart (``file`` as a binary part or a public http(s) URL string). Whatever ffmpeg
decodes is accepted. Recognition runs in worker processes (:mod:`voxbatch.server.recognizer`) on
speech regions only (:mod:`voxbatch.engines.sphinx`), and answers carry true segment and word times.

Limits follow Together: upload size (413 ``request_too_large``), URL download size (400
``file_too_large``), duration (400 ``audio_too_long``), undecodable file (400 ``unsupported_format``).
The specific string goes in ``error.code``; ``error.type`` is ``invalid_request_error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxbatch.audio.ffmpeg import AudioDecodeError, decode_to_pcm
from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ, Recognition
from voxbatch.server import fake_recognizer, recognizer
from voxbatch.server.catalog import STT_MODELS, WHISPER, SttModel
from voxbatch.server.disconnect import unless_caller_leaves
from voxbatch.server.errors import ApiError, bad_request
from voxbatch.server.state import ServerState, note_billing

MULTIPART_OVERHEAD_BYTES = 64 * 1024  # room for the form fields around the file part
URL_FETCH_TIMEOUT_S = 60.0
GRANULARITIES = ("segment", "word")
RESPONSE_FORMATS = ("json", "verbose_json")
LANGUAGE_NAMES = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ja": "japanese",
    "zh": "chinese",
    "ko": "korean",
    "ru": "russian",
    "hi": "hindi",
    "pl": "polish",
    "sv": "swedish",
    "tr": "turkish",
}
SINGLE_SPEAKER = "SPEAKER_00"  # the emulator does not separate speakers: everyone is SPEAKER_00


@dataclass(frozen=True)
class SttRequest:
    """A validated transcription or translation request (the audio itself is fetched separately)."""

    task: str  # "transcribe" or "translate"
    model: SttModel
    language: str
    response_format: str
    granularities: tuple[str, ...]
    diarize: bool
    temperature: float


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        return None
    return value.strip()


def _bool(form: FormData, name: str) -> bool:
    value = _field(form, name)
    if value is None or value == "":
        return False
    lowered = value.lower()  # SDK1 sends Python's "True"; SDK2 and curl send "true"
    if lowered not in ("true", "false", "1", "0"):
        raise bad_request(f"{name} must be true or false; got {value!r}", param=name, code="invalid_params")
    return lowered in ("true", "1")


def _int(form: FormData, name: str) -> int | None:
    value = _field(form, name)
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) < 1:
        raise bad_request(f"{name} must be a positive integer; got {value!r}", param=name, code="invalid_params")
    return int(value)


def parse_stt_request(form: FormData, task: str) -> SttRequest:
    """Check every form field except ``file``; raise a 400 naming the bad one."""
    model_id = _field(form, "model") or WHISPER
    model = STT_MODELS.get(model_id)
    if model is None:
        raise bad_request(f"model {model_id!r} is not available", param="model", code="model_not_available")
    if task == "translate" and not model.translates:
        raise bad_request(f"model {model_id!r} does not translate", param="model", code="model_not_available")
    response_format = _field(form, "response_format") or "json"
    if response_format not in RESPONSE_FORMATS:
        raise bad_request(
            f"response_format must be json or verbose_json; got {response_format!r}",
            param="response_format",
            code="invalid_params",
        )
    raw_temperature = _field(form, "temperature") or "0"
    try:
        temperature = float(raw_temperature)
    except ValueError as exc:
        raise bad_request(
            f"temperature must be a number; got {raw_temperature!r}",
            param="temperature",
            code="invalid_params",
        ) from exc
    if not 0.0 <= temperature <= 1.0:
        raise bad_request("temperature must be between 0 and 1", param="temperature", code="invalid_params")
    # Together takes a scalar or an array; OpenAI-style clients send "timestamp_granularities[]".
    values = [v for key in ("timestamp_granularities", "timestamp_granularities[]") for v in form.getlist(key)]
    granularities: list[str] = []
    for value in values:
        for item in str(value).replace(",", " ").split():
            if item not in GRANULARITIES:
                raise bad_request(
                    f"timestamp_granularities must be segment or word; got {item!r}",
                    param="timestamp_granularities",
                    code="invalid_params",
                )
            if item not in granularities:
                granularities.append(item)
    language = (_field(form, "language") or "en").lower()
    if language != "auto" and language.split("-")[0] not in LANGUAGE_NAMES and len(language.split("-")[0]) != 2:
        raise bad_request(
            f"language must be an ISO-639-1 code or 'auto'; got {language!r}",
            param="language",
            code="invalid_params",
        )
    diarize = _bool(form, "diarize")
    lo, hi = _int(form, "min_speakers"), _int(form, "max_speakers")
    if lo is not None and hi is not None and lo > hi:
        raise bad_request("min_speakers must not exceed max_speakers", param="min_speakers", code="invalid_params")
    return SttRequest(task, model, language, response_format, tuple(granularities or ["segment"]), diarize, temperature)


async def _fetch_url(url: str, limit_bytes: int) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise bad_request("file must be an uploaded file or an http(s) URL", param="file", code="invalid_params")
    chunks: list[bytes] = []
    size = 0
    try:
        async with (
            httpx.AsyncClient(timeout=URL_FETCH_TIMEOUT_S, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise bad_request(
                    f"could not fetch file URL: HTTP {response.status_code}",
                    param="file",
                    code="invalid_file_url",
                )
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit_bytes:
                    raise bad_request(f"file at URL exceeds {limit_bytes} bytes", param="file", code="file_too_large")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise bad_request(
            f"could not fetch file URL: {type(exc).__name__}", param="file", code="invalid_file_url"
        ) from exc
    return b"".join(chunks)


def too_large(limit_bytes: int) -> ApiError:
    """The 413 for an upload over the direct-upload limit."""
    return ApiError(
        413,
        f"upload exceeds the {limit_bytes}-byte limit for direct uploads",
        type="request_too_large",
        param="file",
        code="request_too_large",
    )


async def _audio_bytes(request: Request, form: FormData, state: ServerState) -> bytes:
    upload = form.get("file")
    if upload is None:
        raise bad_request("file is required", param="file", code="missing_file")
    if isinstance(upload, UploadFile):
        data = await upload.read()
        if len(data) > state.options.max_upload_bytes:
            raise too_large(state.options.max_upload_bytes)
        return data
    return await _fetch_url(upload.strip(), state.options.max_url_bytes)


def _words(recognition: Recognition, diarize: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for w in recognition.words:
        word: dict[str, Any] = {"word": w.word, "start": round(w.start_s, 3), "end": round(w.end_s, 3)}
        if diarize:
            word["speaker_id"] = SINGLE_SPEAKER
        out.append(word)
    return out


def render_result(req: SttRequest, recognition: Recognition) -> dict[str, Any]:
    """The JSON answer for ``req``; verbose whenever asked for, or when diarizing (as SDK1 expects)."""
    if req.response_format == "json" and not req.diarize:
        return {"text": recognition.text}
    code = "en" if req.task == "translate" or req.language == "auto" else req.language.split("-")[0]
    body: dict[str, Any] = {
        "task": req.task,
        "language": LANGUAGE_NAMES.get(code, code),
        "duration": round(recognition.duration_s, 3),
        "text": recognition.text,
        "segments": [
            {"id": i, "start": round(s.start_s, 3), "end": round(s.end_s, 3), "text": s.text}
            for i, s in enumerate(recognition.segments)
        ],
    }
    if "word" in req.granularities:
        body["words"] = _words(recognition, req.diarize)
    if req.diarize and req.task == "transcribe":
        body["speaker_segments"] = [
            {
                "id": i,
                "speaker_id": SINGLE_SPEAKER,
                "start": round(s.start_s, 3),
                "end": round(s.end_s, 3),
                "text": s.text,
                "words": [
                    {
                        "id": j,
                        "word": w.word,
                        "start": round(w.start_s, 3),
                        "end": round(w.end_s, 3),
                        "speaker_id": SINGLE_SPEAKER,
                    }
                    for j, w in enumerate(s.words)
                ],
            }
            for i, s in enumerate(recognition.segments)
        ]
    return body


async def _handle(request: Request, task: str) -> Response:
    state: ServerState = request.app.state.vox
    limit = state.options.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD_BYTES:
        raise too_large(limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise bad_request("send multipart/form-data with a 'file' part", code="invalid_params")
    form = await request.form(max_files=1, max_fields=64)
    try:
        req = parse_stt_request(form, task)
        data = await _audio_bytes(request, form, state)
    finally:
        await form.close()
    try:
        audio = await run_in_threadpool(decode_to_pcm, data, SPHINX_SAMPLE_RATE_HZ)
    except AudioDecodeError as exc:
        raise bad_request(f"unsupported audio format: {exc}", param="file", code="unsupported_format") from exc
    duration_s = len(audio) / SPHINX_SAMPLE_RATE_HZ
    if duration_s > state.options.max_audio_s:
        raise bad_request(
            f"audio is {duration_s:.1f} s long; the limit is {state.options.max_audio_s:g} s",
            param="file",
            code="audio_too_long",
        )
    recognize = fake_recognizer.recognize if state.options.recognizer == "fake" else recognizer.recognize
    try:
        recognition = await unless_caller_leaves(
            request,
            state.stats,
            lambda cancel: recognize(audio, SPHINX_SAMPLE_RATE_HZ, cancel),
            (recognizer.RecognitionCancelled,),
        )
    except recognizer.RecognizerError as exc:
        raise ApiError(500, "recognition failed", type="server_error", code="processing_failed") from exc
    note_billing(request.scope, model=req.model.model_id, audio_seconds=duration_s)
    return JSONResponse(render_result(req, recognition))


async def create_transcription(request: Request) -> Response:
    """Speech to text in the spoken language."""
    return await _handle(request, "transcribe")


async def create_translation(request: Request) -> Response:
    """Speech to English text (the recognizer is English-only, so this transcribes)."""
    return await _handle(request, "translate")
