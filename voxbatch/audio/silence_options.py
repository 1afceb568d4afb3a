"""What counts as silence (:class:`SilenceOptions`), apart from the numpy code that finds it (voxbatch.audio.silence).

Standard library only, so options can be built and shown (the command's help) without loading the audio stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SilenceOptions:
    """What counts as silence.

    Example::

        SilenceOptions()                        # adaptive: quiet floor + 12 dB, at most -25 dBFS
        SilenceOptions(threshold_dbfs=-45.0)    # absolute: frames under -45 dBFS are quiet
    """

    frame_ms: int = 10  # one level per frame; a silence's edges are found to within one frame
    min_silence_ms: int = 300  # a pause between sentences; gaps between words are mostly shorter
    threshold_dbfs: float | None = None  # absolute threshold; None: adaptive (below)
    adaptive_margin_db: float = 12.0  # adaptive threshold = 10th-percentile frame level + this
    max_threshold_dbfs: float = -25.0  # the adaptive threshold never goes above this

    def __post_init__(self) -> None:
        if self.frame_ms <= 0:
            raise ValueError(f"frame_ms must be positive, got {self.frame_ms}")
        if self.min_silence_ms < self.frame_ms:
            raise ValueError(f"min_silence_ms ({self.min_silence_ms}) must be at least frame_ms ({self.frame_ms})")
        for name in ("threshold_dbfs", "adaptive_margin_db", "max_threshold_dbfs"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        if self.adaptive_margin_db < 0:
            raise ValueError(f"adaptive_margin_db must not be negative, got {self.adaptive_margin_db}")

    def frame_samples(self, sample_rate_hz: int) -> int:
        """Samples per frame at ``sample_rate_hz`` (160 for 10 ms at 16 kHz)."""
        samples = sample_rate_hz * self.frame_ms // 1000
        if samples <= 0 or samples * 1000 != sample_rate_hz * self.frame_ms:
            raise ValueError(f"{self.frame_ms} ms is not a whole number of samples at {sample_rate_hz} Hz")
        return samples
