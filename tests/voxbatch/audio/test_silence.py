"""Silence detection: frame levels, streamed scans, silences where they were put, the adaptive threshold."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from voxbatch.audio.ffmpeg import decode_to_pcm, encode_pcm
from voxbatch.audio.silence import (
    FLOOR_DBFS,
    LevelScan,
    Silence,
    SilenceOptions,
    detect_silences,
    find_silences,
    frame_levels_dbfs,
    scan_levels,
    threshold_for,
)

RATE_HZ = 16000
FRAME = 160  # samples in the default 10 ms frame
Pcm = npt.NDArray[np.int16]


def noise(seconds: float, level_dbfs: float, rng: np.random.Generator) -> Pcm:
    """Room tone: white noise at an RMS of ``level_dbfs``."""
    return np.round(rng.normal(size=round(seconds * RATE_HZ)) * 32768 * 10 ** (level_dbfs / 20)).astype(np.int16)


def voice(seconds: float, level_dbfs: float = -20.0) -> Pcm:
    """Something loud and never quiet for long: a 220 Hz buzz with a 4 Hz wobble that never drops out."""
    t = np.arange(round(seconds * RATE_HZ)) / RATE_HZ
    wave = np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 660 * t)
    wave *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    wave /= np.sqrt(np.mean(wave**2))
    return np.round(wave * 32768 * 10 ** (level_dbfs / 20)).astype(np.int16)


def write_flac(path: Path, samples: Pcm) -> Path:
    path.write_bytes(encode_pcm(samples, RATE_HZ, ["-c:a", "flac", "-f", "flac"]))
    return path


def scan_of(levels: list[float], frame_samples: int = FRAME, samples: int | None = None) -> LevelScan:
    array = np.array(levels, dtype=np.float32)
    return LevelScan(RATE_HZ, frame_samples, len(levels) * frame_samples if samples is None else samples, array)


# frame levels


@pytest.mark.parametrize("amplitude", [1, 100, 3277, 32767])
def test_a_square_wave_reads_its_amplitude(amplitude: int) -> None:
    square = np.tile(np.array([amplitude, -amplitude], dtype=np.int16), 800)
    levels = frame_levels_dbfs(square, FRAME)
    assert levels.dtype == np.float32
    assert len(levels) == 10
    assert np.allclose(levels, 20 * np.log10(amplitude / 32768), atol=1e-4)


def test_full_scale_sine_reads_minus_3_dbfs() -> None:
    sine = np.round(32767 * np.sin(2 * np.pi * 1000 * np.arange(RATE_HZ) / RATE_HZ)).astype(np.int16)
    assert np.allclose(frame_levels_dbfs(sine, FRAME), -3.01, atol=0.01)


def test_levels_match_a_plain_loop_and_keep_the_partial_frame() -> None:
    samples = np.random.default_rng(1).integers(-5000, 5000, size=1000, dtype=np.int16)
    expected = [10 * np.log10(np.mean(samples[i : i + 64].astype(float) ** 2) / 32768**2) for i in range(0, 1000, 64)]
    levels = frame_levels_dbfs(samples, 64)
    assert len(levels) == 16  # 15 whole frames and one of 40 samples
    assert np.allclose(levels, expected, atol=1e-4)


def test_digital_silence_clamps_to_the_floor() -> None:
    assert frame_levels_dbfs(np.zeros(500, dtype=np.int16), FRAME).tolist() == [FLOOR_DBFS] * 4
    assert len(frame_levels_dbfs(np.zeros(0, dtype=np.int16), FRAME)) == 0
    with pytest.raises(ValueError, match="frame_samples"):
        frame_levels_dbfs(np.zeros(10, dtype=np.int16), 0)


# streamed scans


@pytest.mark.parametrize("frame_ms", [10, 7, 25])
def test_scan_equals_levels_of_the_whole_decode(jfk_flac: bytes, tmp_path: Path, frame_ms: int) -> None:
    path = tmp_path / "jfk.flac"
    path.write_bytes(jfk_flac)
    scan = scan_levels(path, SilenceOptions(frame_ms=frame_ms, min_silence_ms=300))
    whole = decode_to_pcm(jfk_flac, RATE_HZ)
    frame_samples = RATE_HZ * frame_ms // 1000
    assert scan.frame_samples == frame_samples
    assert scan.samples == len(whole) == 176000
    assert scan.duration_s == pytest.approx(11.0)
    assert scan.frame_s == frame_ms / 1000
    assert np.array_equal(scan.levels_dbfs, frame_levels_dbfs(whole, frame_samples))  # block edges carried over
    assert not scan.levels_dbfs.flags.writeable


def test_frame_must_be_whole_samples() -> None:
    with pytest.raises(ValueError, match="whole number of samples"):
        SilenceOptions(frame_ms=10).frame_samples(22050 // 2 + 1)


@pytest.mark.parametrize(
    "kwargs",
    [{"frame_ms": 0}, {"min_silence_ms": 5}, {"threshold_dbfs": float("nan")}, {"adaptive_margin_db": -1.0}],
)
def test_bad_options_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SilenceOptions(**kwargs)  # type: ignore[arg-type]


# finding silences


def test_runs_of_quiet_frames_become_silences() -> None:
    loud, quiet = -20.0, -70.0
    levels = [loud] * 5 + [quiet] * 30 + [loud] * 3 + [quiet] * 29 + [loud] * 2 + [quiet] * 40
    scan = scan_of(levels, samples=len(levels) * FRAME - 100)  # the last frame is partial
    silences = find_silences(scan, SilenceOptions(threshold_dbfs=-40.0))
    # 30 frames = 300 ms: just long enough; 29 frames: too short; the last run ends where the audio does.
    assert silences == [Silence(5 * FRAME, 35 * FRAME), Silence(69 * FRAME, len(levels) * FRAME - 100)]
    assert silences[0].middle_sample == 20 * FRAME
    assert (silences[0].start_s, silences[0].end_s, silences[0].duration_s) == (0.05, 0.35, pytest.approx(0.3))


def test_no_quiet_frames_no_silences() -> None:
    assert find_silences(scan_of([-20.0] * 100), SilenceOptions(threshold_dbfs=-40.0)) == []
    assert find_silences(scan_of([]), SilenceOptions()) == []


def test_silences_are_found_where_they_were_put(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    pieces = [voice(3.0), noise(0.5, -60, rng), voice(2.0), noise(1.23, -60, rng)]
    pieces += [voice(1.0), noise(0.2, -60, rng), voice(2.0), noise(0.31, -60, rng), voice(0.5)]
    edges = np.cumsum([0] + [len(p) for p in pieces])
    scan, silences = detect_silences(write_flac(tmp_path / "gaps.flac", np.concatenate(pieces)))
    inserted = [(edges[i], edges[i + 1]) for i in (1, 3, 7)]  # the 0.2 s gap (piece 5) is too short to count
    assert len(silences) == len(inserted)
    for silence, (start, end) in zip(silences, inserted, strict=True):
        assert abs(silence.start_sample - start) <= FRAME
        assert abs(silence.end_sample - end) <= FRAME
    assert -50 < threshold_for(scan, SilenceOptions()) < -45  # room tone at -60 plus the 12 dB margin


def test_silences_in_real_speech(jfk_flac: bytes, tmp_path: Path) -> None:
    speech = decode_to_pcm(jfk_flac, RATE_HZ)
    gap = noise(2.0, -55, np.random.default_rng(3))
    path = write_flac(tmp_path / "jfk-twice.flac", np.concatenate([speech, gap, speech]))
    _, silences = detect_silences(path)
    start, end = len(speech), len(speech) + len(gap)
    covering = [s for s in silences if s.start_sample <= start + FRAME and s.end_sample >= end - FRAME]
    assert len(covering) == 1
    # It also takes in the quiet lead-in of the second copy (JFK's first word starts ~0.35 s in), but no word.
    assert covering[0].start_sample > start - RATE_HZ // 2 and covering[0].end_sample < end + RATE_HZ // 2
    assert len(silences) == 10  # the gap, the first lead-in, and 4 pauses of his own in each copy


# the adaptive threshold


def _tone_and_room(room_dbfs: float, rng: np.random.Generator) -> Pcm:
    return np.concatenate([voice(4.0), noise(1.0, room_dbfs, rng)] * 3)


def _threshold(samples: Pcm, tmp_path: Path, options: SilenceOptions = SilenceOptions()) -> float:
    return threshold_for(scan_levels(write_flac(tmp_path / "t.flac", samples), options), options)


def test_adaptive_threshold_sits_above_the_room_tone(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    assert -50 < _threshold(_tone_and_room(-60, rng), tmp_path) < -45
    assert -40 < _threshold(_tone_and_room(-50, rng), tmp_path) < -35


def test_adaptive_threshold_is_capped_in_a_noisy_room(tmp_path: Path) -> None:
    assert _threshold(_tone_and_room(-35, np.random.default_rng(5)), tmp_path) == -25.0
    assert _threshold(voice(5.0), tmp_path, SilenceOptions(max_threshold_dbfs=-30.0)) == -30.0


def test_digital_silence_does_not_drag_the_threshold_down(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    room = _tone_and_room(-60, rng)
    padded = np.concatenate([np.zeros(RATE_HZ * 4, dtype=np.int16), room, np.zeros(RATE_HZ * 4, dtype=np.int16)])
    assert _threshold(padded, tmp_path) == pytest.approx(_threshold(room, tmp_path), abs=1.0)
    _, silences = detect_silences(write_flac(tmp_path / "padded.flac", padded))
    assert len(silences) == 4  # the padding runs into the room tone at both ends, and the two gaps between


def test_all_digital_silence_is_one_silence(tmp_path: Path) -> None:
    scan, silences = detect_silences(write_flac(tmp_path / "zeros.flac", np.zeros(RATE_HZ, dtype=np.int16)))
    assert threshold_for(scan, SilenceOptions()) == SilenceOptions().max_threshold_dbfs
    assert silences == [Silence(0, RATE_HZ)]


def test_an_absolute_threshold_is_taken_as_given(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    path = write_flac(tmp_path / "room.flac", _tone_and_room(-60, rng))
    assert detect_silences(path, SilenceOptions(threshold_dbfs=-70.0))[1] == []  # the room is louder than that
    assert len(detect_silences(path, SilenceOptions(threshold_dbfs=-45.0))[1]) == 3


# memory


def test_a_20_minute_scan_never_holds_the_signal(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    pattern = np.concatenate([voice(8.0), noise(2.0, -60, rng)])
    path = write_flac(tmp_path / "twenty-minutes.flac", np.tile(pattern, 120))
    del pattern
    tracemalloc.start()
    try:
        scan, silences = detect_silences(path)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert scan.duration_s == 1200.0
    assert len(silences) == 120
    whole_pcm_bytes = scan.samples * 2  # 38.4 MB as int16, 154 MB as float64
    assert peak_bytes < whole_pcm_bytes / 8  # blocks and levels only
