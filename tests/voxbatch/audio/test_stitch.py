"""Stitching a book from chunk files with the real ffmpeg: timeline, containers, loudness, fades, sidecars, errors."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voxbatch.audio import stitch
from voxbatch.audio.ffmpeg import AudioEncodeError, decode_to_pcm, ffmpeg_exe
from voxbatch.audio.loudness import PeakLimiter, edge_fade, sliding_min, to_dbfs
from voxbatch.audio.sidecars import srt_timestamp
from voxbatch.audio.stitch import (
    BookMeta,
    PauseKind,
    Piece,
    StitchError,
    StitchOptions,
    stitch_book,
    write_chapters_json,
    write_srt,
)

RATE = 24000
FORMATS = ("mp3", "m4b", "wav", "flac", "opus")
EXTENSIONS = {"mp3": "mp3", "m4b": "m4b", "wav": "wav", "flac": "flac", "opus": "opus"}


def tone(seconds: float, rms_dbfs: float, freq_hz: float = 220.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    amplitude = 32768 * 10 ** (rms_dbfs / 20) * np.sqrt(2)
    return amplitude * np.sin(2 * np.pi * freq_hz * t)


def write_pcm(path: Path, samples: np.ndarray) -> Path:
    path.write_bytes(np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes())
    return path


def decoded(path: Path) -> np.ndarray:
    return decode_to_pcm(path.read_bytes(), RATE).astype(np.float64)


def rms_dbfs(x: np.ndarray) -> float:
    return to_dbfs(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))))


def peak_dbfs(x: np.ndarray) -> float:
    return to_dbfs(float(np.abs(x).max()))


def ffmpeg_probe(path: Path) -> str:
    """ffmpeg's description of a file (stderr of ``ffmpeg -i``)."""
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr


_CHAPTER_LINE = re.compile(r"Chapter #\d+:\d+: start (-?[\d.]+), end (-?[\d.]+)")


def read_chapters(path: Path) -> list[tuple[str, float, float]]:
    """Chapters as ffmpeg reads them back: (title, start s, end s), from ``ffmpeg -i``'s description.

    (Not from an ffmetadata dump: remuxing shifts mp3 chapters by the stream's start offset.)
    """
    chapters: list[tuple[str, float, float]] = []
    lines = ffmpeg_probe(path).splitlines()
    for number, line in enumerate(lines):
        match = _CHAPTER_LINE.search(line)
        if match:
            title = ""
            for following in lines[number + 1 : number + 4]:
                if following.strip().startswith("title"):
                    title = following.split(":", 1)[1].strip()
                    break
            chapters.append((title, float(match.group(1)), float(match.group(2))))
    return chapters


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def book(tmp_path: Path) -> list[Piece]:
    """Five chunks in two chapters: a heading, two sentences, a heading, one sentence (4.4 s of voice)."""
    chunks = tmp_path / "chunks"
    chunks.mkdir()
    spec: list[tuple[float, PauseKind, int, str]] = [
        (1.0, "chapter", 0, "Chapter One"),
        (1.0, "sentence", 0, "It was a dark and stormy night."),
        (0.9, "paragraph", 0, "The rain fell in torrents."),
        (0.7, "chapter", 1, "Chapter Two: A = B; #2"),
        (0.8, "chapter", 1, "Except at occasional intervals."),
    ]
    titles = {0: "Chapter One", 1: "Chapter Two: A = B; #2"}
    return [
        Piece(write_pcm(chunks / f"{i}.pcm", tone(s, -22, 200 + 50 * i)), pause, chap, text, titles[chap])
        for i, (s, pause, chap, text) in enumerate(spec)
    ]


# Lead-in 0.5 + voice 4.4 + pauses (2.0 + 0.3 + 0.8 + 2.0 + 2.0) = 12.0 s
BOOK_SECONDS = 12.0
CHAPTER_TWO_START = 0.5 + 1.0 + 2.0 + 1.0 + 0.3 + 0.9 + 0.8  # 6.5: ffmpeg's own Vorbis chapter writer says 7.5


def test_timeline_chapters_and_cues(book: list[Piece], tmp_path: Path) -> None:
    result = stitch_book(book, tmp_path / "book.wav", BookMeta("A Book"), StitchOptions(audio_format="wav"))
    assert result.path == tmp_path / "book.wav"
    assert result.duration_s == pytest.approx(BOOK_SECONDS, abs=1e-9)
    assert [c.title for c in result.chapters] == ["Chapter One", "Chapter Two: A = B; #2"]
    assert [(c.start_s, c.end_s) for c in result.chapters] == [
        (0.0, pytest.approx(CHAPTER_TWO_START)),
        (pytest.approx(CHAPTER_TWO_START), pytest.approx(BOOK_SECONDS)),
    ]
    starts = [0.5, 0.5 + 1.0 + 2.0, 0.5 + 1.0 + 2.0 + 1.0 + 0.3, CHAPTER_TWO_START, CHAPTER_TWO_START + 0.7 + 2.0]
    lengths = [1.0, 1.0, 0.9, 0.7, 0.8]
    assert [c.index for c in result.cues] == [1, 2, 3, 4, 5]
    assert [c.text for c in result.cues] == [p.text for p in book]
    for cue, start, length in zip(result.cues, starts, lengths, strict=True):
        assert cue.start_s == pytest.approx(start)
        assert cue.end_s == pytest.approx(start + length)
    # The decoded file has exactly that many samples, and silence exactly where the pauses are.
    audio = decoded(result.path)
    assert len(audio) == round(BOOK_SECONDS * RATE)
    assert not audio[: round(0.5 * RATE)].any()
    for before, after in zip(result.cues, result.cues[1:], strict=False):
        assert not audio[round(before.end_s * RATE) : round(after.start_s * RATE)].any()
        assert np.abs(audio[round(after.start_s * RATE) : round(after.end_s * RATE)]).max() > 1000


@pytest.mark.parametrize("audio_format", FORMATS)
def test_every_format_decodes_to_the_book_length(book: list[Piece], tmp_path: Path, audio_format: str) -> None:
    out = tmp_path / f"book.{EXTENSIONS[audio_format]}"
    result = stitch_book(book, out, BookMeta("A Book", "A. Writer"), StitchOptions(audio_format=audio_format))  # type: ignore[arg-type]
    tolerance = 0.1 if audio_format == "mp3" else 0.05  # LAME pads the last frame
    assert len(decoded(out)) / RATE == pytest.approx(BOOK_SECONDS, abs=tolerance)
    assert result.duration_s == pytest.approx(BOOK_SECONDS)
    assert leftovers(tmp_path) == []


def test_m4b_has_chapters_tags_and_cover(book: list[Piece], tmp_path: Path) -> None:
    cover = tmp_path / "cover.png"
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "color=c=blue:s=16x16", "-frames:v", "1", str(cover)],
        check=True,
    )
    out = tmp_path / "book.m4b"
    result = stitch_book(book, out, BookMeta("A Book", "A. Writer", cover), StitchOptions(audio_format="m4b"))
    chapters = read_chapters(out)
    assert [title for title, _, _ in chapters] == ["Chapter One", "Chapter Two: A = B; #2"]
    for (_, start, end), mark in zip(chapters, result.chapters, strict=True):
        assert start == pytest.approx(mark.start_s, abs=0.1)
        assert end == pytest.approx(mark.end_s, abs=0.1)
    probe = ffmpeg_probe(out)
    assert re.search(r"title\s*: A Book", probe)
    assert re.search(r"artist\s*: A\. Writer", probe)
    assert re.search(r"genre\s*: Audiobook", probe)
    assert re.search(r"Audio: aac", probe)
    assert "(attached pic)" in probe


def test_m4b_without_cover_has_no_picture(book: list[Piece], tmp_path: Path) -> None:
    out = tmp_path / "book.m4b"
    stitch_book(book, out, BookMeta("A Book"), StitchOptions(audio_format="m4b"))
    assert "attached pic" not in ffmpeg_probe(out)
    assert len(read_chapters(out)) == 2


@pytest.mark.parametrize("audio_format", ["mp3", "flac", "opus"])
def test_chapters_and_cover_in_other_formats(book: list[Piece], tmp_path: Path, audio_format: str) -> None:
    """ID3 CHAP frames in mp3, CHAPTERnnn Vorbis comments in flac and opus; cover art in all three."""
    cover = tmp_path / "cover.jpg"
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:s=16x16", "-frames:v", "1", str(cover)],
        check=True,
    )
    out = tmp_path / f"book.{audio_format}"
    opts = StitchOptions(audio_format=audio_format)  # type: ignore[arg-type]
    result = stitch_book(book, out, BookMeta("A Book", "A. Writer", cover), opts)
    chapters = read_chapters(out)
    assert [title for title, _, _ in chapters] == [mark.title for mark in result.chapters]
    for (_, start, _), mark in zip(chapters, result.chapters, strict=True):
        assert start == pytest.approx(mark.start_s, abs=0.01)
    probe = ffmpeg_probe(out)
    assert re.search(r"title\s*: A Book", probe)
    assert re.search(r"artist\s*: A\. Writer", probe)
    assert "(attached pic)" in probe


def loudness_case(tmp_path: Path, kind: str) -> list[Piece]:
    rng = np.random.default_rng(7)
    pieces = []
    for i in range(4):
        if kind == "quiet":  # noise at -40 dBFS RMS
            samples = rng.normal(0, 32768 * 10 ** (-40 / 20), RATE)
        else:  # "hot": full-scale peaks; "peaky": full-scale clicks in a -28 dBFS tone, the limiter's job
            samples = tone(1.0, -3.5 if kind == "hot" else -28, 150 + 40 * i) + rng.normal(0, 100, RATE)
            samples[rng.integers(1000, RATE - 1000, 5)] = 32767
            samples[rng.integers(1000, RATE - 1000, 5)] = -32768
        path = write_pcm(tmp_path / f"{kind}{i}.pcm", samples)
        pieces.append(Piece(path, "paragraph", 0, f"piece {i}", "One"))
    return pieces


@pytest.mark.parametrize("kind", ["quiet", "hot", "peaky"])
@pytest.mark.parametrize("audio_format", FORMATS)
def test_loudness_meets_acx(tmp_path: Path, kind: str, audio_format: str) -> None:
    pieces = loudness_case(tmp_path, kind)
    source = np.concatenate([np.fromfile(p.pcm_path, "<i2") for p in pieces])
    if kind == "quiet":
        assert rms_dbfs(source) < -39
    else:
        assert peak_dbfs(source) > -0.01
        assert (rms_dbfs(source) > -5) if kind == "hot" else (rms_dbfs(source) < -25)  # peaky: +7 dB needed
    out = tmp_path / f"book.{EXTENSIONS[audio_format]}"
    result = stitch_book(pieces, out, BookMeta("Loud"), StitchOptions(audio_format=audio_format))  # type: ignore[arg-type]
    audio = decoded(out)
    assert -23 <= rms_dbfs(audio) <= -18
    assert peak_dbfs(audio) <= -3.0
    assert result.rms_dbfs == pytest.approx(-20, abs=0.5)
    assert result.peak_dbfs <= -3.0
    if audio_format in ("wav", "flac"):  # lossless: what was measured is what is in the file
        assert rms_dbfs(audio) == pytest.approx(result.rms_dbfs, abs=1e-6)
        assert peak_dbfs(audio) == pytest.approx(result.peak_dbfs, abs=1e-6)


def test_without_normalizing_the_samples_pass_through(tmp_path: Path) -> None:
    samples = tone(1.0, -30)
    piece = Piece(write_pcm(tmp_path / "a.pcm", samples), "none", 0, "a", "One")
    opts = StitchOptions(audio_format="wav", normalize_loudness=False, lead_in_s=0.25)
    stitch_book([piece, piece], tmp_path / "book.wav", BookMeta("Raw"), opts)
    audio = decoded(tmp_path / "book.wav")
    lead = round(0.25 * RATE)
    fade = round(0.008 * RATE)
    assert len(audio) == lead + 2 * RATE
    assert not audio[:lead].any()
    middle = np.round(samples[fade:-fade])
    np.testing.assert_array_equal(audio[lead + fade : lead + RATE - fade], middle)
    np.testing.assert_array_equal(audio[lead + RATE + fade : lead + 2 * RATE - fade], middle)


@pytest.mark.parametrize("fade_ms", [8.0, 0.0])
def test_fades_keep_joins_smooth(tmp_path: Path, fade_ms: float) -> None:
    """Two chunks with opposite DC offsets back to back: a jump of 40000 without fades, a slope with them."""
    up = Piece(write_pcm(tmp_path / "up.pcm", np.full(RATE // 2, 20000.0)), "none", 0, "up", "One")
    down = Piece(write_pcm(tmp_path / "down.pcm", np.full(RATE // 2, -20000.0)), "sentence", 0, "down", "One")
    opts = StitchOptions(audio_format="wav", normalize_loudness=False, fade_ms=fade_ms, lead_in_s=0.1)
    stitch_book([up, down], tmp_path / "book.wav", BookMeta("Clicks"), opts)
    audio = decoded(tmp_path / "book.wav")
    jumps = np.abs(np.diff(audio))
    if fade_ms:
        fade = round(fade_ms / 1000 * RATE)
        assert jumps.max() <= 20000 * np.pi / 2 / fade * 1.01  # steepest point of a raised cosine
        assert jumps.max() < 200
    else:
        assert jumps.max() == 40000


def test_edge_fade_shapes() -> None:
    env = edge_fade(1000, 100, 0, 1000)
    assert env is not None
    assert env[0] < 0.001 and env[-1] < 0.001
    assert np.all(env[100:900] == 1)
    assert np.all(np.diff(env[:100]) > 0)
    np.testing.assert_allclose(env[:100], env[::-1][:100])
    assert edge_fade(1000, 100, 200, 500) is None
    pieces = [edge_fade(1000, 100, start, 250) for start in range(0, 1000, 250)]
    assert pieces[1] is None and pieces[2] is None  # the middle blocks need no fade
    blocks = np.concatenate([np.ones(250) if piece is None else piece for piece in pieces])
    np.testing.assert_array_equal(blocks, env)
    short = edge_fade(10, 100, 0, 10)  # shorter than two fades: fades of 5 samples
    assert short is not None and short.max() < 1


def test_sliding_min_matches_naive() -> None:
    rng = np.random.default_rng(1)
    values = rng.random(1000)
    for width in (1, 2, 7, 64, 1000):
        naive = np.array([values[i : i + width].min() for i in range(len(values) - width + 1)])
        np.testing.assert_array_equal(sliding_min(values, width), naive)


def test_peak_limiter_holds_the_ceiling_and_leaves_the_rest() -> None:
    rng = np.random.default_rng(2)
    signal = rng.normal(0, 3000, 50_000)
    spikes = rng.integers(0, len(signal), 20)
    signal[spikes] = rng.choice([-1, 1], 20) * 60_000
    threshold = 23_000.0
    limiter = PeakLimiter(threshold, 120)
    sizes = rng.integers(1, 5000, 100)
    parts, start = [], 0
    for size in sizes:  # ragged blocks, some shorter than the look-ahead
        parts.append(limiter.process(signal[start : start + size]))
        start += size
    parts.append(limiter.process(signal[start:]))
    parts.append(limiter.flush())
    out = np.concatenate(parts)
    assert len(out) == len(signal)
    assert np.abs(out).max() <= threshold
    one_shot = PeakLimiter(threshold, 120)
    np.testing.assert_allclose(np.concatenate([one_shot.process(signal), one_shot.flush()]), out)
    far = np.ones(len(signal), bool)
    for spike in spikes:
        far[max(0, spike - 500) : spike + 500] = False
    np.testing.assert_array_equal(out[far], signal[far])
    assert np.all(np.abs(out) <= np.abs(signal) + 1e-9)


def test_chapters_json_and_srt(book: list[Piece], tmp_path: Path) -> None:
    result = stitch_book(book, tmp_path / "book.flac", BookMeta("A Book"), StitchOptions(audio_format="flac"))
    assert write_chapters_json(result, tmp_path / "chapters.json") == tmp_path / "chapters.json"
    rows = json.loads((tmp_path / "chapters.json").read_text(encoding="utf-8"))
    assert rows == [
        {"title": "Chapter One", "start": 0.0, "end": round(CHAPTER_TWO_START, 3)},
        {"title": "Chapter Two: A = B; #2", "start": round(CHAPTER_TWO_START, 3), "end": BOOK_SECONDS},
    ]
    write_srt(result, tmp_path / "book.srt")
    text = (tmp_path / "book.srt").read_text(encoding="utf-8")
    blocks = text.strip().split("\n\n")
    assert len(blocks) == len(book)
    assert blocks[0] == "1\n00:00:00,500 --> 00:00:01,500\nChapter One"
    assert blocks[1] == "2\n00:00:03,500 --> 00:00:04,500\nIt was a dark and stormy night."
    assert blocks[4] == "5\n00:00:09,200 --> 00:00:10,000\nExcept at occasional intervals."
    for block in blocks:
        assert re.fullmatch(r"\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.+", block)
    assert leftovers(tmp_path) == []


def test_srt_timestamps() -> None:
    assert srt_timestamp(0) == "00:00:00,000"
    assert srt_timestamp(3723.4567) == "01:02:03,457"
    assert srt_timestamp(36000.0) == "10:00:00,000"
    assert srt_timestamp(59.9996) == "00:01:00,000"


def test_missing_piece_is_named_and_nothing_is_written(book: list[Piece], tmp_path: Path) -> None:
    book[2].pcm_path.unlink()
    out = tmp_path / "book.mp3"
    with pytest.raises(StitchError, match=r"piece 3: chunk file .*2\.pcm does not exist"):
        stitch_book(book, out, BookMeta("A Book"))
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_odd_length_piece_is_named(book: list[Piece], tmp_path: Path) -> None:
    with book[1].pcm_path.open("ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(StitchError, match=r"1\.pcm is odd-length"):
        stitch_book(book, tmp_path / "book.mp3", BookMeta("A Book"))


def test_piece_vanishing_mid_encode_leaves_the_old_file_and_no_temp(
    book: list[Piece], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "book.m4b"
    out.write_bytes(b"the previous edition")
    real_chunk_blocks = stitch._chunk_blocks
    encoded = []

    def vanishing(slot: object, fade_samples: int) -> object:
        encoded.append(slot)
        if len(encoded) == 4:  # three chunks are already in ffmpeg
            book[3].pcm_path.unlink()
        return real_chunk_blocks(slot, fade_samples)  # type: ignore[arg-type]

    monkeypatch.setattr(stitch, "_chunk_blocks", vanishing)
    opts = StitchOptions(audio_format="m4b", normalize_loudness=False)
    with pytest.raises(StitchError, match=r"3\.pcm"):
        stitch_book(book, out, BookMeta("A Book"), opts)
    assert len(encoded) == 4
    assert out.read_bytes() == b"the previous edition"
    assert leftovers(tmp_path) == []


def test_ffmpeg_failure_carries_its_stderr(book: list[Piece], tmp_path: Path) -> None:
    cover = tmp_path / "cover.png"
    cover.write_bytes(b"\x89PNG\r\n\x1a\n" + b"this is not really a png" * 10)
    out = tmp_path / "book.mp3"
    with pytest.raises(AudioEncodeError, match=r"could not encode book\.mp3 as mp3: ffmpeg .*png"):
        stitch_book(book, out, BookMeta("A Book", cover_path=cover))
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_bad_inputs(book: list[Piece], tmp_path: Path) -> None:
    out = tmp_path / "book.mp3"
    with pytest.raises(StitchError, match="no pieces"):
        stitch_book([], out, BookMeta("Empty"))
    text_cover = tmp_path / "cover.txt"
    text_cover.write_text("hello")
    with pytest.raises(StitchError, match="neither JPEG nor PNG"):
        stitch_book(book, out, BookMeta("A Book", cover_path=text_cover))
    back_to_one = [*book, Piece(book[0].pcm_path, "none", 0, "again", "Chapter One")]
    with pytest.raises(StitchError, match="chapter 0 resumes"):
        stitch_book(back_to_one, out, BookMeta("A Book"))
    with pytest.raises(StitchError, match="unknown audio format"):
        stitch_book(book, out, BookMeta("A Book"), StitchOptions(audio_format="aiff"))  # type: ignore[arg-type]
    with pytest.raises(StitchError, match="target_rms_dbfs"):
        stitch_book(book, out, BookMeta("A Book"), StitchOptions(target_rms_dbfs=-2.0))
    assert not out.exists()
    assert leftovers(tmp_path) == []
