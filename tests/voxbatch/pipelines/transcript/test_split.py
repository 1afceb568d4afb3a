"""Splitting long audio: when, where the cuts go (properties over random layouts), and exact FLAC chunks."""

from __future__ import annotations

import itertools
import tracemalloc
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from voxbatch.audio import pcm
from voxbatch.audio.ffmpeg import AudioDecodeError, decode_to_pcm, encode_pcm, probe_duration_s
from voxbatch.audio.silence import Silence, detect_silences
from voxbatch.audio.stream import decode_stream
from voxbatch.pipelines.transcript.spans import ChunkSpan
from voxbatch.pipelines.transcript.split import SplitOptions, encode_flac, iter_chunk_flac, needs_split, plan_spans

RATE_HZ = 16000
Pcm = npt.NDArray[np.int16]
# Small numbers so a test file is a minute, not an hour: cut every ~10 s, within +-3 s.
SMALL = SplitOptions(
    split_above_s=20.0, target_chunk_s=10.0, search_window_s=3.0, max_chunk_s=15.0, overlap_s=1.0, min_chunk_s=2.0
)


def at(seconds: float) -> int:
    return round(seconds * RATE_HZ)


def quiet(start_s: float, end_s: float) -> Silence:
    return Silence(at(start_s), at(end_s))


def voice(seconds: float) -> Pcm:
    """A loud buzz that is never quiet: no silence anywhere in it."""
    t = np.arange(at(seconds)) / RATE_HZ
    return np.round(3000 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.int16)


def flac_total_samples(flac: bytes) -> int:
    """The sample count in a FLAC file's STREAMINFO header (0 means unknown)."""
    assert flac[:4] == b"fLaC"
    streaminfo = flac[8:42]
    return int.from_bytes(streaminfo[13:18], "big") & ((1 << 36) - 1)


# options and when to split


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_chunk_s": 0.0}, "positive"),
        ({"overlap_s": -1.0}, "overlap_s"),
        ({"search_window_s": float("inf")}, "search_window_s"),
        ({"search_window_s": 600.0}, "less than target_chunk_s"),
        ({"max_chunk_s": 650.0}, "must not exceed max_chunk_s"),
        ({"overlap_s": 540.0}, "chunks would not advance"),
        ({"min_chunk_s": 61.0}, "min_chunk_s"),
    ],
)
def test_bad_options_are_refused_with_the_reason(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SplitOptions(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("duration_s", "size_bytes", "expected"),
    [
        (600.0, 10_000_000, False),
        (1200.0, 10_000_000, False),  # exactly at the limit: not longer than it
        (1200.5, 10_000_000, True),
        (60.0, 25_000_001, True),  # short but too big (e.g. a 48 kHz stereo WAV)
        (60.0, 25_000_000, False),
    ],
)
def test_needs_split(duration_s: float, size_bytes: int, expected: bool) -> None:
    assert needs_split(duration_s, size_bytes, SplitOptions(), max_upload_bytes=25_000_000) is expected


# where the cuts go


def test_a_short_recording_is_one_span() -> None:
    assert plan_spans(at(13.0), [quiet(9.0, 10.0)], SMALL) == (ChunkSpan(0, 0, at(13.0)),)
    assert plan_spans(1, [], SMALL) == (ChunkSpan(0, 0, 1),)


def test_the_cut_is_the_middle_of_the_silence_near_the_aim() -> None:
    spans = plan_spans(at(25.0), [quiet(2.0, 3.0), quiet(11.0, 11.4), quiet(20.0, 20.4)], SMALL)
    # Aim at 10 s (7-13 s): the silence at 11.0-11.4 s. Aim at 21.2 s (18.2-23 s): the one at 20.0-20.4 s.
    assert spans == (
        ChunkSpan(0, 0, at(11.2)),
        ChunkSpan(1, at(11.2), at(20.2)),
        ChunkSpan(2, at(20.2), at(25.0)),
    )


def test_the_longest_silence_in_the_window_wins() -> None:
    silences = [quiet(7.5, 7.9), quiet(9.8, 10.2), quiet(12.0, 12.6), quiet(13.5, 15.0)]  # the last is outside
    assert plan_spans(at(30.0), silences, SMALL)[0].end_sample == at(12.3)


def test_between_equally_long_silences_the_one_nearest_the_aim_wins() -> None:
    silences = [quiet(7.5, 8.0), quiet(10.6, 11.1), quiet(11.5, 12.0)]
    assert plan_spans(at(30.0), silences, SMALL)[0].end_sample == at(10.85)


def test_a_silence_longer_than_the_window_is_cut_near_the_aim() -> None:
    # An hour-long stretch of room tone: its middle is far from the aim, but the cut must not be.
    options = SplitOptions(target_chunk_s=600.0, search_window_s=60.0, max_chunk_s=900.0, min_chunk_s=30.0)
    spans = plan_spans(at(3000.0), [quiet(500.0, 2500.0)], options)
    assert spans[0].end_sample == at(600.0)  # middle of the part inside [540, 660], not 1500 s
    assert spans[0].overlap_samples == 0 and spans[1].overlap_samples == 0


def test_no_silence_means_a_hard_cut_with_overlap() -> None:
    spans = plan_spans(at(30.0), [quiet(1.0, 2.0), quiet(14.0, 15.0)], SMALL)
    assert spans[0] == ChunkSpan(0, 0, at(10.0))
    assert spans[1] == ChunkSpan(1, at(9.0), at(19.0), overlap_samples=at(1.0))  # the aim is 9 + 10
    assert spans[1].overlap_s == 1.0
    assert spans[2] == ChunkSpan(2, at(18.0), at(30.0), overlap_samples=at(1.0))


def test_no_cut_leaves_a_sliver_at_the_end() -> None:
    # A silence at 13.9 s of 14 s would leave 0.1 s: the window stops min_chunk_s (2 s) before the end.
    spans = plan_spans(at(14.0), [quiet(13.8, 14.0), quiet(8.0, 8.4)], SMALL)
    assert [s.end_sample for s in spans] == [at(8.2), at(14.0)]


def test_plan_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="16000 Hz"):
        plan_spans(at(30.0), [], SMALL, sample_rate_hz=8000)
    with pytest.raises(ValueError, match="silences must be counted at 16000 Hz"):
        plan_spans(at(30.0), [Silence(0, 100, sample_rate_hz=8000)], SMALL)
    with pytest.raises(ValueError, match="nothing to split"):
        plan_spans(0, [], SMALL)


def _random_case(rng: np.random.Generator) -> tuple[int, list[Silence], SplitOptions]:
    target = float(rng.choice([5.0, 30.0, 600.0]))
    window = float(rng.uniform(0, 0.5) * target)
    options = SplitOptions(
        target_chunk_s=target,
        search_window_s=window,
        max_chunk_s=target + window + float(rng.uniform(0, 100)),
        overlap_s=float(rng.uniform(0, 0.9) * min(3.0, target - window)),
        min_chunk_s=float(rng.uniform(0, 1) * window),
    )
    total = int(rng.integers(1, at(target * rng.uniform(0.5, 20))))
    density = rng.choice([0.0, 0.2, 1.0, 5.0])  # silences per target length: none, rare, some, many
    starts = np.sort(rng.integers(0, total, size=int(density * total / at(target)) + 1))
    silences = []
    for start, next_start in itertools.pairwise(starts):
        end = min(int(next_start), int(start) + at(float(rng.choice([0.3, 0.5, 1.0, 3.0]))))
        if end > start:
            silences.append(Silence(int(start), end))
    return total, silences, options


@pytest.mark.parametrize("seed", range(300))
def test_plan_properties_over_random_layouts(seed: int) -> None:
    total, silences, options = _random_case(np.random.default_rng(seed))
    spans = plan_spans(total, silences, options)
    target, window = at(options.target_chunk_s), at(options.search_window_s)
    overlap, min_chunk = at(options.overlap_s), at(options.min_chunk_s)

    assert [s.index for s in spans] == list(range(len(spans)))
    assert spans[0].start_sample == 0 and spans[0].overlap_samples == 0
    assert spans[-1].end_sample == total
    for span in spans:
        assert 0 < span.end_sample - span.start_sample <= min(target + window, at(options.max_chunk_s))
    if len(spans) > 1:
        assert spans[-1].end_sample - spans[-1].start_sample >= min_chunk
    for before, span in itertools.pairwise(spans):
        cut = before.end_sample
        assert span.start_sample == cut - span.overlap_samples  # no gaps: overlap only after hard cuts
        aim = before.start_sample + target
        low, high = aim - window, min(aim + window, total - min_chunk)
        # the part of each silence inside the window
        inside = [(max(s.start_sample, low), min(s.end_sample, high)) for s in silences]
        inside = [(a, b) for a, b in inside if b > a]
        if inside:
            longest = max(b - a for a, b in inside)
            chosen = [(a, b) for a, b in inside if b - a == longest and cut == (a + b) // 2]
            assert chosen, (cut, inside)  # the middle of the longest quiet stretch in the window
            assert span.overlap_samples == 0
        else:
            assert not inside and cut == aim and span.overlap_samples == overlap


# FLAC chunks


@pytest.fixture
def long_speech(jfk_flac: bytes, tmp_path: Path) -> Path:
    """~60 s: JFK twice with a pause, then 25 s without a single silence, then JFK again."""
    speech = decode_to_pcm(jfk_flac, RATE_HZ)
    room = np.round(np.random.default_rng(0).normal(size=at(1.5)) * 20).astype(np.int16)
    samples = np.concatenate([speech, room, speech, voice(25.0), speech])
    path = tmp_path / "long.flac"
    path.write_bytes(encode_pcm(samples, RATE_HZ, ["-c:a", "flac", "-f", "flac"]))
    return path


def test_chunks_are_sample_exact(long_speech: Path) -> None:
    whole = np.concatenate(list(decode_stream(long_speech)))
    _, silences = detect_silences(long_speech, SMALL.silence)
    spans = plan_spans(len(whole), silences, SMALL)
    assert any(s.overlap_samples for s in spans), "the 25 s without silence forces a hard cut"
    assert any(s.overlap_samples == 0 for s in spans[1:]), "JFK's pauses give clean cuts"
    chunks = list(iter_chunk_flac(long_speech, spans))
    assert [span for span, _ in chunks] == list(spans)
    for span, flac in chunks:
        assert np.array_equal(decode_to_pcm(flac, RATE_HZ), whole[span.start_sample : span.end_sample])
        assert flac_total_samples(flac) == span.end_sample - span.start_sample  # the header knows the length
    assert probe_duration_s(chunks[0][1]) == pytest.approx(spans[0].duration_s, abs=0.01)


def test_only_some_chunks(long_speech: Path) -> None:
    spans = (ChunkSpan(0, 0, at(10)), ChunkSpan(1, at(9), at(20), at(1)), ChunkSpan(2, at(20), at(30)))
    whole = np.concatenate(list(decode_stream(long_speech)))
    chunks = list(iter_chunk_flac(long_speech, spans, only={1}))
    assert [span.index for span, _ in chunks] == [1]
    assert np.array_equal(decode_to_pcm(chunks[0][1], RATE_HZ), whole[at(9) : at(20)])
    assert list(iter_chunk_flac(long_speech, spans, only=set())) == []


def test_spans_past_the_end_of_the_audio_are_an_error(long_speech: Path) -> None:
    spans = (ChunkSpan(0, 0, at(30)), ChunkSpan(1, at(30), at(600)))
    chunks = iter_chunk_flac(long_speech, spans)
    assert next(chunks)[0].index == 0
    with pytest.raises(AudioDecodeError, match="before span 1 does"):
        next(chunks)


@pytest.mark.parametrize(
    "spans",
    [
        (ChunkSpan(0, at(10), at(20)), ChunkSpan(1, 0, at(10))),
        (ChunkSpan(0, 0, at(20)), ChunkSpan(1, at(5), at(10))),
        (ChunkSpan(0, at(5), at(5)),),
    ],
    ids=["starts-out-of-order", "ends-out-of-order", "empty"],
)
def test_spans_out_of_order_are_refused(long_speech: Path, spans: tuple[ChunkSpan, ...]) -> None:
    with pytest.raises(ValueError, match="span"):
        next(iter_chunk_flac(long_speech, spans))


def test_encode_flac_is_lossless_with_a_full_header() -> None:
    samples = np.random.default_rng(9).integers(-32768, 32767, size=12345, dtype=np.int16)
    flac = encode_flac(samples)
    assert flac_total_samples(flac) == 12345
    assert np.array_equal(decode_to_pcm(flac, RATE_HZ), samples)


def test_chunking_ten_minutes_holds_one_chunk_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "ten-minutes.wav"
    path.write_bytes(pcm.to_wav(np.tile(voice(1.0), 600), RATE_HZ))
    options = SplitOptions(target_chunk_s=30.0, search_window_s=5.0, max_chunk_s=40.0, overlap_s=1.0, min_chunk_s=2.0)
    spans = plan_spans(at(600.0), [], options)
    assert len(spans) == 21
    tracemalloc.start()
    try:
        chunks = list(iter_chunk_flac(path, spans, only={0, 10, 20}))
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [span.index for span, _ in chunks] == [0, 10, 20]
    whole_pcm_bytes = at(600.0) * 2  # 19.2 MB; one 30 s chunk is 0.96 MB
    assert peak_bytes < whole_pcm_bytes / 4
