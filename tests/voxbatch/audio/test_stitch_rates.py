"""A book is stitched at its own rate (44.1 kHz for Cartesia, not only 24 kHz), and a chunk at another is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxbatch.audio.probe import probe_audio
from voxbatch.audio.stitch import BookMeta, Piece, StitchError, StitchOptions, stitch_book

CD_RATE_HZ = 44100


def _chunk(path: Path, seconds: float, rate_hz: int) -> Path:
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    path.write_bytes(np.round(8000 * np.sin(2 * np.pi * 220.0 * t)).astype("<i2").tobytes())
    return path


def _piece(path: Path, chapter: int, rate_hz: int | None) -> Piece:
    return Piece(path, "chapter", chapter, "Words.", f"Chapter {chapter + 1}", sample_rate_hz=rate_hz)


@pytest.mark.parametrize("audio_format", ["flac", "mp3", "m4b", "opus"])
def test_a_book_at_44_1_khz_keeps_its_rate_and_timeline(tmp_path: Path, audio_format: str) -> None:
    pieces = [_piece(_chunk(tmp_path / f"{n}.pcm", 1.0 + n, CD_RATE_HZ), n, CD_RATE_HZ) for n in range(2)]
    opts = StitchOptions(audio_format=audio_format, sample_rate_hz=CD_RATE_HZ)  # type: ignore[arg-type]
    out = tmp_path / f"book.{audio_format}"
    result = stitch_book(pieces, out, BookMeta(title="Rates"), opts)
    # lead-in 0.5 s, 1 s of audio, a 2 s chapter pause, 2 s of audio, a 2 s chapter pause
    assert result.duration_s == pytest.approx(7.5, abs=1e-6)
    assert [(c.start_s, c.end_s) for c in result.chapters] == [(0.0, 3.5), (3.5, 7.5)]
    probe = probe_audio(out)
    expected = 48000 if audio_format == "opus" else CD_RATE_HZ  # Ogg Opus takes 48 kHz, not 44.1
    assert probe.sample_rate_hz == expected and probe.duration_s == pytest.approx(7.5, abs=0.1)


def test_a_chunk_at_another_rate_than_the_books_is_refused(tmp_path: Path) -> None:
    first = _piece(_chunk(tmp_path / "a.pcm", 1.0, CD_RATE_HZ), 0, CD_RATE_HZ)
    second = _piece(_chunk(tmp_path / "b.pcm", 1.0, 24000), 1, 24000)
    opts = StitchOptions(audio_format="wav", sample_rate_hz=CD_RATE_HZ)
    with pytest.raises(StitchError, match=r"piece 2 \(.*b\.pcm\) is at 24000 Hz, the book 44100 Hz"):
        stitch_book([first, second], tmp_path / "book.wav", BookMeta(title="Mixed"), opts)
    assert not (tmp_path / "book.wav").exists()
    unknown = _piece(tmp_path / "b.pcm", 1, None)  # a piece that does not say: taken at the book's rate
    assert stitch_book([first, unknown], tmp_path / "book.wav", BookMeta(title="Mixed"), opts).duration_s > 0
