"""A piece's own pause (a pause tag): exactly that many samples of silence after it, instead of its kind's."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from voxbatch.audio.stitch import BookMeta, Piece, StitchError, StitchOptions, stitch_book

RATE = 24000
LOUD = 8000  # a constant level: every sample of a chunk is non-zero, so silence is exactly the zero samples


def chunk(path: Path, seconds: float) -> Path:
    path.write_bytes(np.full(round(seconds * RATE), LOUD, dtype="<i2").tobytes())
    return path


def zero_runs(samples: np.ndarray) -> list[int]:
    """Lengths of the runs of zero samples, in order."""
    edges = np.diff(np.concatenate([[0], (samples == 0).astype(np.int8), [0]]))
    return [int(e - s) for s, e in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True)]


def test_a_pieces_pause_is_exact_and_replaces_its_kinds(tmp_path: Path) -> None:
    a, b, c = (chunk(tmp_path / f"{n}.pcm", 0.5) for n in "abc")
    pieces = [
        Piece(a, "sentence", 0, "One.", "Chapter", pause_s=1.5),
        Piece(b, "paragraph", 0, "Two.", "Chapter", pause_s=0.0),
        Piece(c, "chapter", 0, "Three.", "Chapter"),
    ]
    opts = StitchOptions(audio_format="wav", lead_in_s=0.25, fade_ms=0.0, normalize_loudness=False)
    result = stitch_book(pieces, tmp_path / "book.wav", BookMeta("Book"), opts)
    with wave.open(str(tmp_path / "book.wav")) as audio:
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
    # lead-in, pause tag (1.5 s), nothing (0 s: the chunks touch), the last chunk's chapter pause
    assert zero_runs(samples) == [round(0.25 * RATE), round(1.5 * RATE), round(opts.chapter_pause_s * RATE)]
    assert len(samples) == round((0.25 + 3 * 0.5 + 1.5 + opts.chapter_pause_s) * RATE)
    assert result.cues[1].start_s - result.cues[0].end_s == pytest.approx(1.5)


@pytest.mark.parametrize("bad", [-0.5, float("inf"), float("nan")])
def test_a_bad_pause_is_refused(tmp_path: Path, bad: float) -> None:
    piece = Piece(chunk(tmp_path / "a.pcm", 0.1), "sentence", 0, "One.", "Chapter", pause_s=bad)
    with pytest.raises(StitchError, match="pause_s must be finite"):
        stitch_book([piece], tmp_path / "book.wav", BookMeta("Book"), StitchOptions(audio_format="wav"))
