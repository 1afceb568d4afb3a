"""Getting one recording ready before any money is spent: fetch, hash, skip-if-done, probe, and plan chunks.

The content hash of the audio plus the transcription options is the file's *fingerprint*: outputs made
for the same fingerprint are reused, so nightly runs only do new or changed files. Chunk keys hash the
audio, the chunk's exact sample span and the options, so a re-run resumes inside a long file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from voxbatch.audio.probe import AudioProbe, AudioProbeError, probe_audio
from voxbatch.audio.silence import detect_silences
from voxbatch.cache import chunk_key
from voxbatch.defaults import PROVIDER_UPLOAD_LIMIT_BYTES
from voxbatch.manifest.errors import RowError
from voxbatch.manifest.stt import AudioRow
from voxbatch.pipelines.transcript.fetch import FetchError, fetch
from voxbatch.pipelines.transcript.outputs import Finished, find_finished
from voxbatch.pipelines.transcript.spans import ANALYSIS_RATE_HZ, ChunkSpan
from voxbatch.pipelines.transcript.split import needs_split, plan_spans
from voxbatch.pipelines.transcript.split_options import EMBEDDED_SPLIT, SplitOptions
from voxbatch.run.endpoint import EMBEDDED_ENDPOINT_ID

HASH_BLOCK_BYTES = 1024 * 1024
UPLOAD_MARGIN_BYTES = 64 * 1024  # the multipart form around the file


def default_split(endpoint_id: str) -> SplitOptions:
    """How recordings are split when the user did not say: short chunks for the embedded recognizer
    (each must decode well inside its timeout), provider-sized ones elsewhere."""
    return EMBEDDED_SPLIT if endpoint_id == EMBEDDED_ENDPOINT_ID else SplitOptions()


@dataclass(frozen=True)
class PrepareOptions:
    """How files are prepared: where downloads go, which outputs count as done, and how to split."""

    endpoint_id: str
    download_dir: Path
    out_dir: Path
    formats: tuple[str, ...]
    split: SplitOptions | None = None  # None: default_split(endpoint_id)
    max_upload_bytes: int = PROVIDER_UPLOAD_LIMIT_BYTES

    @property
    def split_options(self) -> SplitOptions:
        return self.split if self.split is not None else default_split(self.endpoint_id)


@dataclass(frozen=True)
class FilePlan:
    """A recording ready to transcribe: one span covering it all (sent as is) or several (sent as FLAC)."""

    row: AudioRow
    path: Path
    sha256: str
    fingerprint: str
    probe: AudioProbe
    whole: bool
    spans: tuple[ChunkSpan, ...]
    chunk_keys: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        return self.spans[-1].end_s if not self.whole else self.probe.duration_s


@dataclass(frozen=True)
class Prepared:
    """What preparing one input gave: a plan, the outputs it already has, or the reason it cannot run."""

    row: AudioRow
    plan: FilePlan | None = None
    finished: Finished | None = None
    error: RowError | None = None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(HASH_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def options_fields(row: AudioRow, endpoint_id: str) -> dict[str, object]:
    """Everything besides the audio that shapes a transcript."""
    return {
        "endpoint": endpoint_id,
        "model": row.model,
        "language": row.language,
        "prompt": row.prompt,
        "diarize": row.diarize,
        "task": row.task,
        "granularities": ["segment", "word"],
    }


def file_fingerprint(row: AudioRow, sha256: str, endpoint_id: str) -> str:
    return chunk_key(kind="stt-file", audio_sha256=sha256, **options_fields(row, endpoint_id))


def span_key(row: AudioRow, sha256: str, endpoint_id: str, span: ChunkSpan, whole: bool) -> str:
    """The cache key of one chunk's transcript: audio, exact span, and options."""
    return chunk_key(
        kind="stt-chunk",
        audio_sha256=sha256,
        whole=whole,
        start_sample=span.start_sample,
        end_sample=span.end_sample,
        **options_fields(row, endpoint_id),
    )


def prepare_file(row: AudioRow, options: PrepareOptions) -> Prepared:
    """Fetch (URLs), hash, check for finished outputs, probe, and plan chunks; never raises for bad input."""
    if row.is_url:
        try:
            path = fetch(row.source, options.download_dir)
        except FetchError as exc:
            return Prepared(row, error=row.error("audio_path", str(exc)))
    else:
        path = Path(row.source)
    try:
        sha256 = file_sha256(path)
    except OSError as exc:
        return Prepared(row, error=row.error("audio_path", f"file {path} cannot be read: {exc.strerror or exc}"))
    fingerprint = file_fingerprint(row, sha256, options.endpoint_id)
    finished = find_finished(options.out_dir, row.id, fingerprint, options.formats)
    if finished is not None:
        return Prepared(row, finished=finished)
    try:
        probe = probe_audio(path)
    except AudioProbeError as exc:
        return Prepared(row, error=row.error("audio_path", f"file {path.name} {exc}"))
    limit = options.max_upload_bytes - UPLOAD_MARGIN_BYTES
    split = options.split_options
    if not needs_split(probe.duration_s, probe.size_bytes, split, limit):
        span = ChunkSpan(0, 0, round(probe.duration_s * ANALYSIS_RATE_HZ))
        key = span_key(row, sha256, options.endpoint_id, span, whole=True)
        return Prepared(row, plan=FilePlan(row, path, sha256, fingerprint, probe, True, (span,), (key,)))
    try:
        scan, silences = detect_silences(path, split.silence)
    except ValueError as exc:  # AudioDecodeError: the file breaks off part way
        return Prepared(row, error=row.error("audio_path", f"file {path.name} could not be decoded: {exc}"))
    spans = plan_spans(scan.samples, silences, split, ANALYSIS_RATE_HZ)
    keys = tuple(span_key(row, sha256, options.endpoint_id, s, whole=False) for s in spans)
    return Prepared(row, plan=FilePlan(row, path, sha256, fingerprint, probe, False, spans, keys))
