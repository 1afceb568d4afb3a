"""Where a long recording is cut: one :class:`ChunkSpan` per piece sent to the provider.

Spans are counted in samples of the 16 kHz mono analysis signal, so a chunk's start time (and the offset
added to every time in its transcript) is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

ANALYSIS_RATE_HZ = 16000  # decode rate for analysis and for uploaded chunks (what Whisper works at)


@dataclass(frozen=True)
class ChunkSpan:
    """One piece of a recording: samples ``[start_sample, end_sample)`` at :data:`ANALYSIS_RATE_HZ`.

    ``overlap_samples`` is how much of this chunk's start repeats the end of the previous chunk: zero when
    the cut fell in a silence, a small overlap when there was no silence and the cut was hard.
    """

    index: int
    start_sample: int
    end_sample: int
    overlap_samples: int = 0

    @property
    def start_s(self) -> float:
        return self.start_sample / ANALYSIS_RATE_HZ

    @property
    def end_s(self) -> float:
        return self.end_sample / ANALYSIS_RATE_HZ

    @property
    def duration_s(self) -> float:
        return (self.end_sample - self.start_sample) / ANALYSIS_RATE_HZ

    @property
    def overlap_s(self) -> float:
        return self.overlap_samples / ANALYSIS_RATE_HZ
