"""Hearing a synthesized chunk back: the words a recognizer finds in its audio, with their times.

- :class:`EndpointHearer` (``--audit on`` or a model): the run's own client transcribes the chunk (a WAV of its
  PCM) with word timestamps; each call is paid, paced and recorded in the ledger like any other, marked
  ``purpose="audit"`` with the chunk's item and index.
- :class:`EmbeddedHearer` (``--audit free``): pocketsphinx on this machine, in the recognizer's worker processes
  (:mod:`voxbatch.server.recognizer`), so a decode never stalls the run's event loop; nothing is called or paid.
  No more chunks wait on them at once than there are workers: each waits in a thread, and the run's other work
  (cache writes, planning) needs the event loop's few threads too.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from voxbatch.audio import pcm
from voxbatch.client.call_options import CallContext, TranscriptionOptions
from voxbatch.client.results import WordTime
from voxbatch.manuscript.reader import primary_language

if TYPE_CHECKING:
    from voxbatch.cache import CachedChunk
    from voxbatch.client.client import SpeechClient

AUDIT_PURPOSE = "audit"  # the ledger's purpose of the audit's own calls
_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()

__all__ = ["AUDIT_PURPOSE", "EmbeddedHearer", "EndpointHearer", "Hearer", "chunk_samples"]


class Hearer(Protocol):
    """Something that hears a cached chunk (raises :class:`voxbatch.client.errors.SpeechAPIError` or OSError when
    it cannot)."""

    @property
    def name(self) -> str: ...  # what hears: kept with what it heard in the cache

    @property
    def local(self) -> bool: ...  # the embedded engines (pocketsphinx on this machine or a server on it)

    async def hear(self, chunk: CachedChunk, context: CallContext, language: str | None) -> tuple[WordTime, ...]: ...


def chunk_samples(chunk: CachedChunk) -> np.ndarray:
    """A cached chunk's audio as int16 samples (books are synthesized as ``pcm_s16le``)."""
    return pcm.decode(chunk.pcm_path.read_bytes(), chunk.encoding)  # type: ignore[arg-type]


@dataclass(frozen=True)
class EndpointHearer:
    """Hears chunks with a speech-to-text model of the run's endpoint, through the run's client."""

    client: SpeechClient
    model: str
    local: bool  # the endpoint is on this machine (its recognizer is the embedded one)

    @property
    def name(self) -> str:
        return self.model

    async def hear(self, chunk: CachedChunk, context: CallContext, language: str | None) -> tuple[WordTime, ...]:
        wav = pcm.to_wav(chunk_samples(chunk), chunk.sample_rate_hz)
        options = TranscriptionOptions(
            model=self.model,
            language=primary_language(language),
            response_format="verbose_json",
            timestamp_granularities=("segment", "word"),
            audio_seconds=chunk.duration_s,
        )
        heard_for = CallContext(context.item_id, context.chunk_index, purpose=AUDIT_PURPOSE)
        transcript = await self.client.transcribe(wav, options, context=heard_for)
        return transcript.words


@dataclass(frozen=True)
class EmbeddedHearer:
    """Hears chunks with pocketsphinx on this machine (English; free)."""

    name: str
    local: bool = True

    async def hear(self, chunk: CachedChunk, context: CallContext, language: str | None) -> tuple[WordTime, ...]:
        from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ
        from voxbatch.server.recognizer import DEFAULT_WORKERS, recognize

        loop = asyncio.get_running_loop()
        gate = _GATES.get(loop)
        if gate is None:
            gate = _GATES[loop] = asyncio.Semaphore(DEFAULT_WORKERS)
        async with gate:
            samples = await asyncio.to_thread(
                pcm.resample, chunk_samples(chunk), chunk.sample_rate_hz, SPHINX_SAMPLE_RATE_HZ
            )
            recognition = await recognize(samples, SPHINX_SAMPLE_RATE_HZ)
        return tuple(WordTime(w.word, w.start_s, w.end_s) for w in recognition.words)
