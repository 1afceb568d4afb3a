"""When and where a long recording is split (:class:`SplitOptions`), apart from the code that splits it.

Standard library only, so the command can show and check these options without loading numpy or ffmpeg
machinery; :mod:`voxbatch.pipelines.transcript.split` does the splitting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from voxbatch.audio.silence_options import SilenceOptions


@dataclass(frozen=True)
class SplitOptions:
    """When a recording is split, and where.

    Example::

        SplitOptions()                                            # ~10-minute chunks, cut within +-60 s of the aim
        SplitOptions(target_chunk_s=300.0, search_window_s=30.0)  # ~5-minute chunks
    """

    split_above_s: float = 1200.0  # longer files are split (bigger-than-upload-limit files are split too)
    target_chunk_s: float = 600.0  # aim for a cut every this many seconds
    search_window_s: float = 60.0  # a cut may land this far before or after its aim, in a silence
    max_chunk_s: float = 900.0  # no chunk is ever longer (validated: target + window must fit)
    overlap_s: float = 2.0  # after a hard cut (no silence in the window) the next chunk repeats this much
    min_chunk_s: float = 30.0  # the last chunk is at least this long (cuts too near the end are not taken)
    silence: SilenceOptions = field(default_factory=SilenceOptions)

    def __post_init__(self) -> None:
        for name in ("split_above_s", "target_chunk_s", "search_window_s", "max_chunk_s", "overlap_s", "min_chunk_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"SplitOptions.{name} must be a finite number >= 0, got {value}")
        if self.split_above_s <= 0 or self.target_chunk_s <= 0:
            raise ValueError("SplitOptions.split_above_s and target_chunk_s must be positive")
        if self.search_window_s >= self.target_chunk_s:
            raise ValueError(
                f"SplitOptions.search_window_s ({self.search_window_s}) must be less than "
                f"target_chunk_s ({self.target_chunk_s}): a cut must fall after the chunk's start"
            )
        if self.target_chunk_s + self.search_window_s > self.max_chunk_s:
            raise ValueError(
                f"SplitOptions: target_chunk_s + search_window_s ({self.target_chunk_s + self.search_window_s}) "
                f"must not exceed max_chunk_s ({self.max_chunk_s})"
            )
        if self.overlap_s >= self.target_chunk_s - self.search_window_s:
            raise ValueError(
                f"SplitOptions.overlap_s ({self.overlap_s}) must be less than target_chunk_s - search_window_s "
                f"({self.target_chunk_s - self.search_window_s}), or chunks would not advance"
            )
        if self.min_chunk_s > self.search_window_s:
            raise ValueError(
                f"SplitOptions.min_chunk_s ({self.min_chunk_s}) must not exceed search_window_s "
                f"({self.search_window_s}): a hard cut leaves more than the window after it"
            )


# The embedded recognizer needs about 0.5 CPU-s per second of speech (SPHINX_CPU_S_PER_SPEECH_S): a
# 60-s chunk of solid speech decodes in ~30 CPU-s, a fourteenth of its 420-s timeout (60 s + 6 s per audio
# second on the embedded server), so a chunk finishes well inside its timeout even on a loaded machine,
# and the server's two decoders share a long recording.
EMBEDDED_SPLIT = SplitOptions(
    split_above_s=60.0, target_chunk_s=45.0, search_window_s=15.0, max_chunk_s=60.0, min_chunk_s=10.0
)
