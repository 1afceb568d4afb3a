"""A content-addressed store of finished chunks, so nothing already paid for is ever requested again.

The key is a SHA-256 over everything that shapes the audio: provider, base URL, model, voice, every audio
parameter and the chunk text. A chunk is two files: ``<key>.pcm`` (raw audio) and ``<key>.json`` (its format,
duration and word timings). Both are written atomically and the JSON last, so a chunk whose JSON exists is
complete; a crash mid-write leaves at most an orphan ``.pcm`` that the next run overwrites.

Word timings come from the provider (``words``: streamed with the audio) or from the audit (``heard``: what a
recognizer, ``heard_by``, found in the audio, noted after the chunk was stored), so a rerun has them for free.

A chunk may also carry ``<key>.levels``: its loudness statistics (:mod:`voxbatch.audio.chunk_levels`), written
after it, so the book's measuring pass need not read its audio. It is optional (absent for chunks cached before it
existed, or when writing it failed) and removed whenever the chunk's audio is written again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from voxbatch.atomic import write_bytes_atomic, write_text_atomic

KEY_VERSION = 1  # bump when the meaning of a cached chunk changes


def chunk_key(**fields: Any) -> str:
    """A stable key for the audio these fields produce (order of arguments does not matter)."""
    canonical = json.dumps({"v": KEY_VERSION, **fields}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class CachedChunk:
    """A finished chunk on disk."""

    key: str
    pcm_path: Path
    sample_rate_hz: int
    encoding: str
    duration_s: float
    words: tuple[tuple[str, float, float], ...]  # the provider's word timestamps (seconds into the chunk)
    heard: tuple[tuple[str, float, float], ...] = ()  # the words the audit heard, with their times
    heard_by: str | None = None  # the recognizer that heard them (None: not heard)
    levels_path: Path | None = None  # its loudness statistics, when stored


class ChunkCache:
    """Finished chunks under ``root``, sharded by the first two hex digits of the key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.pcm", folder / f"{key}.json"

    def _levels_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.levels"

    def get(self, key: str) -> CachedChunk | None:
        """The chunk for ``key`` if a complete one is stored."""
        pcm_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        if not pcm_path.is_file() or pcm_path.stat().st_size != meta.get("bytes"):
            return None
        levels = self._levels_path(key)
        return self._chunk(key, pcm_path, meta, levels if levels.is_file() else None)

    def put(
        self,
        key: str,
        audio: bytes,
        *,
        sample_rate_hz: int,
        encoding: str,
        duration_s: float,
        words: tuple[tuple[str, float, float], ...] = (),
        heard: tuple[tuple[str, float, float], ...] = (),
        heard_by: str | None = None,
    ) -> CachedChunk:
        """Store a finished chunk (audio first, then the JSON that marks it complete)."""
        pcm_path, meta_path = self._paths(key)
        self._levels_path(key).unlink(missing_ok=True)  # levels of audio written before are not this audio's
        write_bytes_atomic(pcm_path, audio)
        meta: dict[str, Any] = {
            "bytes": len(audio),
            "sample_rate_hz": sample_rate_hz,
            "encoding": encoding,
            "duration_s": duration_s,
            "words": [list(w) for w in words],
        }
        if heard_by is not None:
            meta |= {"heard": [list(w) for w in heard], "heard_by": heard_by}
        write_text_atomic(meta_path, json.dumps(meta))
        return self._chunk(key, pcm_path, meta)

    def note_heard(self, chunk: CachedChunk, heard_by: str, heard: tuple[tuple[str, float, float], ...]) -> CachedChunk:
        """Keep what ``heard_by`` heard in a stored chunk (its JSON rewritten atomically, the audio untouched)."""
        pcm_path, meta_path = self._paths(chunk.key)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta |= {"heard": [list(w) for w in heard], "heard_by": heard_by}
        write_text_atomic(meta_path, json.dumps(meta))
        return self._chunk(chunk.key, pcm_path, meta, chunk.levels_path)

    def put_levels(self, chunk: CachedChunk, data: bytes) -> CachedChunk:
        """Store a stored chunk's loudness statistics (bytes from :mod:`voxbatch.audio.chunk_levels`)."""
        return replace(chunk, levels_path=write_bytes_atomic(self._levels_path(chunk.key), data))

    @staticmethod
    def _chunk(key: str, pcm_path: Path, meta: dict[str, Any], levels_path: Path | None = None) -> CachedChunk:
        return CachedChunk(
            key=key,
            pcm_path=pcm_path,
            sample_rate_hz=int(meta["sample_rate_hz"]),
            encoding=str(meta["encoding"]),
            duration_s=float(meta["duration_s"]),
            words=tuple((str(w), float(s), float(e)) for w, s, e in meta.get("words", [])),
            heard=tuple((str(w), float(s), float(e)) for w, s, e in meta.get("heard", [])),
            heard_by=meta.get("heard_by"),
            levels_path=levels_path,
        )


class JsonCache:
    """Finished results that are JSON documents (transcripts), under ``root`` sharded like :class:`ChunkCache`.

    Each is one file written atomically, so a result that can be read is complete.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored document for ``key``, or None."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def has(self, key: str) -> bool:
        return self.get(key) is not None

    def put(self, key: str, document: dict[str, Any]) -> Path:
        """Store ``document`` under ``key``."""
        return write_text_atomic(self._path(key), json.dumps(document, ensure_ascii=False))
