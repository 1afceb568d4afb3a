"""Long books encoded in segments at once and joined without re-encoding: frames, cuts, alignment, fallbacks."""

from __future__ import annotations

import io
import itertools
import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.voxbatch.audio.test_stitch import decoded, leftovers, read_chapters, write_pcm
from voxbatch.audio import segmented, stitch
from voxbatch.audio.containers import pcm_input_argv
from voxbatch.audio.loudness_series import LoudnessCollector
from voxbatch.audio.segmented import (
    Framing,
    ParallelEncode,
    Segment,
    count_frames,
    encode_segmented,
    framing,
    plan_segments,
    required_silence,
    segment_argv,
)
from voxbatch.audio.stitch import BookMeta, PauseKind, Piece, StitchOptions, stitch_book

RATE = 24000
PARALLEL = ParallelEncode(workers=2, segments_per_worker=2, min_segment_s=4.0)
ONE_PIECE = ParallelEncode(workers=1)


def encoded_frames(tmp_path: Path, audio_format: str, rate: int, n_samples: int, first: bool) -> int | None:
    out = tmp_path / f"s.{audio_format}"
    pcm = np.random.default_rng(n_samples).normal(0, 2000, n_samples).astype("<i2")
    argv = [*pcm_input_argv(rate), *segment_argv(audio_format, rate, 64, first), str(out)]  # type: ignore[arg-type]
    subprocess.run(argv, input=pcm.tobytes(), check=True, capture_output=True)
    plan = framing(audio_format, rate)  # type: ignore[arg-type]
    assert plan is not None
    with out.open("rb") as stream:
        return count_frames(stream, plan.stream_format)


@pytest.mark.parametrize(("audio_format", "rate"), [("m4b", 24000), ("mp3", 24000), ("mp3", 44100)])
def test_the_encoders_write_the_frames_the_framing_predicts(tmp_path: Path, audio_format: str, rate: int) -> None:
    plan = framing(audio_format, rate)  # type: ignore[arg-type]
    assert plan is not None
    for n in (1, 575, 1153, 4801, 24000):
        assert encoded_frames(tmp_path, audio_format, rate, n, first=False) == plan.frames(n)
    header = 1 if plan.header_frame else 0  # LAME's gapless header on the first segment
    assert encoded_frames(tmp_path, audio_format, rate, 4801, first=True) == plan.frames(4801) + header


def test_other_formats_are_not_cut_and_garbage_has_no_frames() -> None:
    assert framing("opus", RATE) is None and framing("flac", RATE) is None and framing("wav", RATE) is None
    assert count_frames(io.BytesIO(b"\xff\xf1\x50\x80\x00\x1f"), "adts") is None
    assert count_frames(io.BytesIO(b"ID3\x03\x00"), "mp3") is None


def test_frames_are_counted_across_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = encoded_frames(tmp_path, "mp3", RATE, 24000, first=False)
    monkeypatch.setattr(segmented, "READ_BYTES", 100)  # frames of ~192 bytes: every one is cut by a read
    with (tmp_path / "s.mp3").open("rb") as stream:
        assert count_frames(stream, "mp3") == expected
    (tmp_path / "cut.mp3").write_bytes((tmp_path / "s.mp3").read_bytes()[:-5])
    with (tmp_path / "cut.mp3").open("rb") as stream:
        assert count_frames(stream, "mp3") is None


def test_cuts_go_only_in_long_silences_and_the_segments_follow_the_frames() -> None:
    aac = Framing(1024, 1024, "adts", "aac", 1024, header_frame=False)
    guard = 500
    need = required_silence(aac, guard)
    silences = [(10_000, 10_000 + need - 1), (40_000, 40_000 + need), (70_000, 80_000), (95_000, 99_000)]
    segments = plan_segments(silences, 120_000, aac, guard, count=4)
    assert [s.end for s in segments[:-1]] == [40_000 + guard, 70_000 + guard, 95_000 + guard]  # not the first: short
    assert segments[0].start == 0 and segments[-1].end == 120_000
    for before, after in itertools.pairwise(segments):
        assert after.start == before.start + before.frames * 1024  # the next starts where the frames end
        assert before.end < after.start <= before.end + 2048
    assert plan_segments([], 120_000, aac, guard, count=4) == [Segment(0, 120_000, aac.frames(120_000))]


def noise(seconds: float, seed: int, level: float = 3000.0) -> np.ndarray:
    n = round(seconds * RATE)
    envelope = np.sin(np.pi * np.arange(n) / n) ** 0.5
    return np.random.default_rng(seed).normal(0, level, n) * envelope


@pytest.fixture
def long_book(tmp_path: Path) -> list[Piece]:
    """Sixteen chunks of 1.5 s in two chapters: 24 s of voice, 34.4 s in all."""
    folder = tmp_path / "chunks"
    folder.mkdir()
    out = []
    for i in range(16):
        pause: PauseKind = "chapter" if i in (7, 15) else ("paragraph" if i % 3 == 2 else "sentence")
        path = write_pcm(folder / f"{i}.pcm", noise(1.5, seed=i, level=1500.0 + 400 * i))
        out.append(Piece(path, pause, i // 8, f"chunk {i}", f"Chapter {i // 8 + 1}"))
    return out


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


@pytest.mark.parametrize("audio_format", ["m4b", "mp3"])
def test_a_book_in_segments_is_the_book_in_one_piece(long_book: list[Piece], tmp_path: Path, audio_format: str) -> None:
    opts = StitchOptions(audio_format=audio_format)  # type: ignore[arg-type]
    assert len(stitch._segments(stitch._plan(long_book, opts), opts, PARALLEL)) == 4
    meta = BookMeta("A Book", "A. Writer")
    levels = {"cut": LoudnessCollector(RATE), "whole": LoudnessCollector(RATE)}
    cut = stitch_book(long_book, tmp_path / f"cut.{audio_format}", meta, opts, PARALLEL, on_pcm=levels["cut"].add_at)
    whole = stitch_book(
        long_book, tmp_path / f"whole.{audio_format}", meta, opts, ONE_PIECE, on_pcm=levels["whole"].add_at
    )
    assert (cut.duration_s, cut.chapters, cut.cues) == (whole.duration_s, whole.chapters, whole.cues)
    assert levels["cut"].series() == levels["whole"].series()  # the loudness chart's data, segments interleaved
    assert cut.peak_dbfs == whole.peak_dbfs and cut.rms_dbfs == pytest.approx(whole.rms_dbfs, abs=1e-9)
    total = round(cut.duration_s * RATE)
    joined, single = decoded(cut.path), decoded(whole.path)
    plan = framing(audio_format, RATE)  # type: ignore[arg-type]
    assert plan is not None
    assert 0 <= len(joined) - total <= plan.frame_samples  # at most one frame of extra silence at the end
    for cue in cut.cues:  # every chunk where it belongs: shifted by a sample, the noise would decorrelate (~0)
        span = slice(round(cue.start_s * RATE), round(cue.end_s * RATE))
        assert correlation(joined[span], single[span]) > 0.8  # two lossy encodes of the same noise: 0.95-1
    for before, after in zip(cut.cues, cut.cues[1:], strict=False):  # and the pauses are silent
        middle = round((before.end_s + after.start_s) / 2 * RATE)
        assert np.abs(joined[middle - 100 : middle + 100]).max() < 50
    assert read_chapters(cut.path) == read_chapters(whole.path)
    assert leftovers(tmp_path) == []


def test_rendering_in_segments_gives_the_samples_of_one_pass(tmp_path: Path) -> None:
    """Loud chunks (the limiter at work): each segment's own limiter, started in silence, changes nothing."""
    folder = tmp_path / "loud"
    folder.mkdir()
    book = [
        Piece(write_pcm(folder / f"{i}.pcm", noise(2.0, seed=i, level=9000.0)), "paragraph", 0, f"{i}", "One")
        for i in range(12)
    ]
    opts = StitchOptions(audio_format="m4b", target_rms_dbfs=-12.0)
    plan = stitch._plan(book, opts)
    fade = stitch.fade_samples(opts.fade_ms, RATE)
    gain = 4.0

    def limiter() -> stitch.PeakLimiter:
        return stitch.PeakLimiter(stitch.from_dbfs(-4.0), round(stitch.LIMITER_HALF_WIDTH_S * RATE))

    render = stitch._Render(plan, fade, gain, limiter)
    blocks: list[np.ndarray] = []
    render(0, plan.total, blocks.append)
    one_pass = np.concatenate(blocks)
    assert np.abs(one_pass).max() <= stitch.from_dbfs(-4.0) and (np.abs(one_pass) > 20000).any()
    in_parts = np.zeros(plan.total, np.int16)
    segments = stitch._segments(plan, opts, PARALLEL)
    assert len(segments) > 1
    for segment in segments:
        parts: list[np.ndarray] = []
        render(segment.start, segment.end, parts.append)
        in_parts[segment.start : segment.end] = np.concatenate(parts)
    assert np.array_equal(in_parts, one_pass)  # the samples the joins leave out are silence in the book too


def test_frames_not_as_predicted_mean_one_encoder(
    long_book: list[Piece], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(segmented, "AAC_PRIMING_SAMPLES", 512)  # as if another ffmpeg primed differently
    with caplog.at_level(logging.WARNING, logger="voxbatch.audio.stitch"):
        result = stitch_book(long_book, tmp_path / "b.m4b", BookMeta("B"), StitchOptions(audio_format="m4b"), PARALLEL)
    assert "in one piece" in caplog.text
    assert len(decoded(result.path)) == round(result.duration_s * RATE)  # the one-piece encode, exact as ever
    assert leftovers(tmp_path) == []


def test_a_failing_segment_leaves_no_book_and_no_temp_files(tmp_path: Path) -> None:
    segments = [Segment(0, 48000, 0), Segment(49000, 96000, 0), Segment(97000, 144000, 0)]

    def render(start: int, end: int, write: segmented.Write) -> None:
        if start == 49000:
            raise RuntimeError("a chunk went missing")
        for at in range(start, end, 4800):
            write(np.zeros(min(4800, end - at), np.int16))

    with pytest.raises(RuntimeError, match="went missing"):
        encode_segmented(segments, render, tmp_path / "b.m4b", "m4b", RATE, 64, ";FFMETADATA1\n", None, workers=2)
    assert not (tmp_path / "b.m4b").exists() and leftovers(tmp_path) == []
