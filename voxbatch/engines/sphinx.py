"""Offline English speech recognition with pocketsphinx 5.x and its bundled en-US models.

Owns: finding speech regions with pocketsphinx's voice-activity detector, decoding only those regions
(50 s of noise costs the decoder 30-35 s; the VAD classifies it in 5 ms), turning the decoder's word
segmentation into words with true times (offsets into the whole input), and a small lazily-filled
pool of decoders so concurrent callers never share one.

Determinism: a pocketsphinx ``Decoder`` carries front-end state (noise and cepstral-mean estimates)
from one utterance to the next, so the same audio decodes differently depending on what was decoded
before (measured on jfk.flac: word error rate 0.23 on a fresh decoder, 0.45 on the second pass). We
reset the feature extraction before every region (``reinit_feat``, ~0 ms), which makes a result a
pure function of (pcm, options): identical sequentially and from many threads.

Concurrency caveat: pocketsphinx 5.1.1's Python binding never releases the GIL, so decodes in
different threads are safe but take turns on the CPU, and one region's decode holds the GIL for its
whole length (0.3-0.5 s per second of audio). ``max_segment_s`` therefore also bounds how long
other Python threads (e.g. an event loop) can be stalled by one decode call.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pocketsphinx

SPHINX_SAMPLE_RATE_HZ = 16000  # the bundled acoustic model is trained on 16 kHz audio
# Two requests can each hold a decoder (~100 MB of model apiece). They still take turns on the CPU,
# region by region, because the binding holds the GIL (see module doc).
DEFAULT_POOL_SIZE = 2
# What a decode costs: about this much CPU time per second of speech (silence costs next to nothing, see
# above). Timeouts and the embedded server's chunk sizes are chosen against it.
SPHINX_CPU_S_PER_SPEECH_S = 0.5
SPLIT_FRAME_S = 0.01  # granularity of the energy scan that picks where to cut an over-long region
_DECODER_LOGLEVEL = "FATAL"  # pocketsphinx logs every model load and utterance to stderr at INFO

_ALT_PRONUNCIATION_RE = re.compile(r"\(\d+\)$")  # "for(2)" is the 2nd dictionary pronunciation of "for"
# Filler "words" of the bundled noisedict and decoder: <s>, </s>, <sil>, [NOISE], [SPEECH], ++GARBAGE++.
_FILLER_PREFIXES = ("<", "[", "+")


class RecognitionCancelled(Exception):
    """``recognize`` was told to stop (its caller left); raised between two speech regions."""


@dataclass(frozen=True)
class RecognizedWord:
    word: str  # lowercase, no alternate-pronunciation suffix; fillers never appear
    start_s: float  # true time in the whole input
    end_s: float


@dataclass(frozen=True)
class RecognizedSegment:
    """The words decoded from one speech region; times span its first to last word."""

    start_s: float
    end_s: float
    text: str  # the words joined by single spaces
    words: tuple[RecognizedWord, ...]


@dataclass(frozen=True)
class Recognition:
    duration_s: float  # of the whole input
    segments: tuple[RecognizedSegment, ...]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    @property
    def words(self) -> tuple[RecognizedWord, ...]:
        return tuple(w for s in self.segments for w in s.words)


@dataclass(frozen=True)
class SphinxOptions:
    """Tuning of the VAD-first pipeline. Defaults were picked on jfk.flac alone, between 2 s of digital
    silence, at half volume, and between 30 s of white noise (std 30/100/300): mean WER 0.30 versus
    0.33-0.60 for the other settings tried (modes 2-3, windows 0.3-0.8 s, padding 0.1-0.3 s)."""

    # VAD aggressiveness 0 (loose) .. 3 (strict). Modes 0-1 call white noise of std 1000 speech (it would
    # all be decoded); mode 3 splits jfk.flac into three pieces and clips a word edge; 2 is the best of both.
    vad_mode: int = 2
    # Endpointer decision window: a region starts/ends once vad_ratio of this window agrees, so a pause
    # shorter than about vad_ratio * vad_window_s never splits a region. 0.8 s merged jfk.flac into one
    # utterance (WER 0.41); 0.3-0.5 s split it at its long pause (0.18).
    vad_window_s: float = 0.5
    vad_ratio: float = 0.9  # fraction of vad_window_s that must be (non-)speech to switch state
    # Context added on each side of a VAD region (never past the middle of the pause to the next one):
    # the Endpointer's region edges can fall inside a word (jfk.flac's second "ask" starts 40 ms before
    # its region). More than 0.2 s mostly adds noise for the decoder to hallucinate words in.
    padding_s: float = 0.2
    # Longest utterance handed to the decoder; longer regions are cut at their quietest 10 ms in the
    # second half of this span. Bounds decoder memory and how long one decode call holds the GIL
    # (0.3-0.5 s per second of audio, so at most ~7 s).
    max_segment_s: float = 15.0

    def __post_init__(self) -> None:
        if self.vad_mode not in (0, 1, 2, 3):
            raise ValueError(f"vad_mode must be 0..3, got {self.vad_mode}")
        if self.vad_window_s <= 0 or not 0 < self.vad_ratio <= 1:
            raise ValueError("vad_window_s must be > 0 and vad_ratio in (0, 1]")
        if self.padding_s < 0:
            raise ValueError(f"padding_s must be >= 0, got {self.padding_s}")
        if self.max_segment_s < 1.0:
            raise ValueError(f"max_segment_s must be >= 1 s, got {self.max_segment_s}")


class _DecoderPool:
    """Up to ``size`` decoders, created on first demand, each lent to one thread at a time."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"pool_size must be >= 1, got {size}")
        self._size = size
        self._idle: list[pocketsphinx.Decoder] = []
        self._created = 0
        self._cond = threading.Condition()

    @contextmanager
    def borrow(self) -> Iterator[pocketsphinx.Decoder]:
        with self._cond:
            while not self._idle and self._created >= self._size:
                self._cond.wait()
            decoder = self._idle.pop() if self._idle else None
            if decoder is None:
                self._created += 1  # reserve the slot now; the slow model load happens outside the lock
        if decoder is None:
            try:
                decoder = pocketsphinx.Decoder(loglevel=_DECODER_LOGLEVEL)
            except BaseException:
                self._release_slot()
                raise
        try:
            yield decoder
        except BaseException:
            # A failed decode may leave the decoder inside an utterance; drop it rather than reuse it.
            self._release_slot()
            raise
        with self._cond:
            self._idle.append(decoder)
            self._cond.notify()

    def _release_slot(self) -> None:
        with self._cond:
            self._created -= 1
            self._cond.notify()


class SphinxEngine:
    """VAD-first pocketsphinx recognizer; safe to call from many threads at once."""

    def __init__(self, options: SphinxOptions = SphinxOptions(), pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.options = options
        self._pool = _DecoderPool(pool_size)

    def recognize(
        self,
        pcm: npt.NDArray[np.int16],
        sample_rate_hz: int = SPHINX_SAMPLE_RATE_HZ,
        should_stop: Callable[[], bool] | None = None,
    ) -> Recognition:
        """Recognize mono int16 PCM; segments and words carry true times in the whole input.

        ``should_stop`` is asked before each speech region (at most ``max_segment_s`` of audio, a few
        CPU-seconds apart); when it says yes, :class:`RecognitionCancelled` is raised.
        """
        samples = _checked_pcm(pcm, sample_rate_hz)
        segments: list[RecognizedSegment] = []
        for start_s, end_s in self.speech_regions(samples, sample_rate_hz):
            if should_stop is not None and should_stop():
                raise RecognitionCancelled(
                    f"stopped at {start_s:.1f} s of {len(samples) / SPHINX_SAMPLE_RATE_HZ:.1f} s"
                )
            first = round(start_s * SPHINX_SAMPLE_RATE_HZ)
            last = round(end_s * SPHINX_SAMPLE_RATE_HZ)
            words = self._decode(samples[first:last], offset_s=first / SPHINX_SAMPLE_RATE_HZ)
            if words:
                text = " ".join(w.word for w in words)
                segments.append(RecognizedSegment(words[0].start_s, words[-1].end_s, text, words))
        return Recognition(duration_s=len(samples) / SPHINX_SAMPLE_RATE_HZ, segments=tuple(segments))

    def speech_regions(
        self, pcm: npt.NDArray[np.int16], sample_rate_hz: int = SPHINX_SAMPLE_RATE_HZ
    ) -> list[tuple[float, float]]:
        """The (start_s, end_s) spans ``recognize`` decodes: VAD speech, padded, merged and split."""
        samples = _checked_pcm(pcm, sample_rate_hz)
        duration_s = len(samples) / SPHINX_SAMPLE_RATE_HZ
        opts = self.options
        merged: list[tuple[float, float]] = []
        for start_s, end_s in self._vad_regions(samples):
            if merged and start_s <= merged[-1][1]:  # the Endpointer back-dates starts; never decode twice
                merged[-1] = (merged[-1][0], max(merged[-1][1], end_s))
            else:
                merged.append((start_s, end_s))
        padded: list[tuple[float, float]] = []
        for i, (start_s, end_s) in enumerate(merged):
            # Padding stops at the middle of the pause to a neighbour, so no audio is decoded twice.
            lo_s = (merged[i - 1][1] + start_s) / 2 if i > 0 else 0.0
            hi_s = (end_s + merged[i + 1][0]) / 2 if i + 1 < len(merged) else duration_s
            padded.append((max(lo_s, start_s - opts.padding_s), min(hi_s, end_s + opts.padding_s)))
        pieces = [piece for region in padded for piece in _split_long(samples, region, opts.max_segment_s)]
        return [(round(start_s, 3), round(end_s, 3)) for start_s, end_s in pieces]

    def _vad_regions(self, samples: npt.NDArray[np.int16]) -> list[tuple[float, float]]:
        """Raw speech regions from pocketsphinx's Endpointer (start times already back-dated by it)."""
        opts = self.options
        endpointer = pocketsphinx.Endpointer(
            window=opts.vad_window_s,
            ratio=opts.vad_ratio,
            vad_mode=opts.vad_mode,
            sample_rate=SPHINX_SAMPLE_RATE_HZ,
        )
        data = samples.tobytes()
        frame_bytes = endpointer.frame_bytes
        regions: list[tuple[float, float]] = []
        for offset in range(0, len(data) - frame_bytes + 1, frame_bytes):
            was_in_speech = endpointer.in_speech
            endpointer.process(data[offset : offset + frame_bytes])
            if was_in_speech and not endpointer.in_speech:
                regions.append((endpointer.speech_start, endpointer.speech_end))
        if endpointer.in_speech:
            # Still in speech at the end: end_stream reports where speech actually stopped (the window may
            # not have filled with non-speech yet). It rejects an empty frame, hence one silent sample.
            tail = data[len(data) - len(data) % frame_bytes :]
            endpointer.end_stream(tail or b"\0\0")
            regions.append((endpointer.speech_start, endpointer.speech_end))
        return regions

    def _decode(self, region: npt.NDArray[np.int16], offset_s: float) -> tuple[RecognizedWord, ...]:
        with self._pool.borrow() as decoder:
            decoder.reinit_feat()  # forget the previous utterance's front-end state (see module doc)
            decoder.start_utt()
            # One call with full_utt=True: cepstral-mean normalisation over the whole region, which is
            # far more accurate on short regions than the live estimate chunked feeding would use.
            decoder.process_raw(region.tobytes(), full_utt=True)
            decoder.end_utt()
            frame_rate_hz = int(decoder.config["frate"])
            # seg() is None when nothing at all was hypothesised (e.g. a few milliseconds of audio).
            segmentation = [(s.word, s.start_frame, s.end_frame) for s in decoder.seg() or ()]
        region_end_s = offset_s + len(region) / SPHINX_SAMPLE_RATE_HZ
        words: list[RecognizedWord] = []
        for raw, start_frame, end_frame in segmentation:
            if raw.startswith(_FILLER_PREFIXES):
                continue
            word = _ALT_PRONUNCIATION_RE.sub("", raw).lower()
            start_s = offset_s + start_frame / frame_rate_hz
            end_s = min(region_end_s, offset_s + (end_frame + 1) / frame_rate_hz)  # end_frame is inclusive
            words.append(RecognizedWord(word, round(start_s, 3), round(max(start_s, end_s), 3)))
        return tuple(words)


def _checked_pcm(pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> npt.NDArray[np.int16]:
    if sample_rate_hz != SPHINX_SAMPLE_RATE_HZ:
        raise ValueError(
            f"pocketsphinx needs {SPHINX_SAMPLE_RATE_HZ} Hz audio, got {sample_rate_hz} Hz (resample first)"
        )
    samples = np.asarray(pcm)
    if samples.ndim != 1 or samples.dtype != np.int16:
        raise ValueError(f"expected mono int16 PCM, got a {samples.ndim}-d {samples.dtype} array")
    return samples


def _split_long(
    samples: npt.NDArray[np.int16], region: tuple[float, float], max_segment_s: float
) -> list[tuple[float, float]]:
    """Cut a region longer than ``max_segment_s`` at its quietest 10 ms, searched where both sides of the
    cut stay at least half of ``max_segment_s`` long (a sliver of audio alone decodes to garbage)."""
    frame_len = round(SPLIT_FRAME_S * SPHINX_SAMPLE_RATE_HZ)
    start_s, end_s = region
    pieces: list[tuple[float, float]] = []
    while end_s - start_s > max_segment_s:
        lo = round((start_s + max_segment_s / 2) * SPHINX_SAMPLE_RATE_HZ)
        hi = round(min(start_s + max_segment_s, end_s - max_segment_s / 2) * SPHINX_SAMPLE_RATE_HZ)
        window = samples[lo:hi]
        n_frames = len(window) // frame_len
        cut = lo  # the region is barely over the limit: there is no room to choose
        if n_frames > 0:
            frames = window[: n_frames * frame_len].astype(np.float64).reshape(n_frames, frame_len)
            cut = lo + int(np.argmin(np.square(frames).sum(axis=1))) * frame_len + frame_len // 2
        cut_s = cut / SPHINX_SAMPLE_RATE_HZ
        pieces.append((start_s, cut_s))
        start_s = cut_s
    pieces.append((start_s, end_s))
    return pieces


@functools.cache
def default_engine() -> SphinxEngine:
    """The process-wide engine (created on first call; its decoders load on first use)."""
    return SphinxEngine()
