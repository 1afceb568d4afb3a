"""Streaming decode: blocks add up to the whole decode, early close kills ffmpeg, broken files say why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from voxbatch.audio import pcm
from voxbatch.audio.ffmpeg import AudioDecodeError, decode_to_pcm
from voxbatch.audio.stream import BLOCK_SAMPLES, decode_stream, pcm_blocks

RATE_HZ = 16000


@pytest.fixture
def jfk_path(jfk_flac: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "jfk.flac"
    path.write_bytes(jfk_flac)
    return path


@pytest.mark.parametrize("block_samples", [3, 160, 4097, BLOCK_SAMPLES, 10**7])
def test_blocks_add_up_to_the_whole_decode(jfk_path: Path, jfk_flac: bytes, block_samples: int) -> None:
    blocks = list(decode_stream(jfk_path, block_samples=block_samples))
    assert all(len(block) == block_samples for block in blocks[:-1])
    assert 0 < len(blocks[-1]) <= block_samples
    assert all(block.dtype == np.int16 and block.flags.writeable and block.flags.owndata for block in blocks)
    assert np.array_equal(np.concatenate(blocks), decode_to_pcm(jfk_flac, RATE_HZ))


def test_decodes_at_another_rate(jfk_path: Path) -> None:
    samples = sum(len(block) for block in decode_stream(jfk_path, 8000))
    assert samples / 8000 == pytest.approx(11.0, abs=0.3)


def _dribble(data: bytes, sizes: Iterator[int]) -> Callable[[memoryview], int]:
    """A read_into that hands out ``data`` a few bytes at a time, odd counts included."""
    position = 0

    def read_into(view: memoryview) -> int:
        nonlocal position
        count = min(next(sizes), len(view), len(data) - position)
        view[:count] = data[position : position + count]
        position += count
        return count

    return read_into


@pytest.mark.parametrize("seed", range(5))
def test_odd_reads_never_split_a_sample(seed: int) -> None:
    rng = np.random.default_rng(seed)
    samples = rng.integers(-32768, 32767, size=1001, dtype=np.int16)
    sizes = iter(rng.integers(1, 8, size=10_000).tolist())
    blocks = list(pcm_blocks(_dribble(samples.astype("<i2").tobytes(), sizes), 64))
    assert [len(b) for b in blocks] == [64] * 15 + [41]
    assert np.array_equal(np.concatenate(blocks), samples)


def test_a_dangling_odd_byte_is_dropped() -> None:
    data = np.array([1, -2, 3], dtype="<i2").tobytes() + b"\x7f"
    blocks = list(pcm_blocks(_dribble(data, iter([3] * 10)), 2))
    assert [b.tolist() for b in blocks] == [[1, -2], [3]]


@pytest.mark.parametrize("name", ["pipe:0", "-", "http:x.flac"])
def test_names_that_look_like_protocols_are_files(
    name: str, jfk_flac: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(name).write_bytes(jfk_flac)
    assert np.array_equal(np.concatenate(list(decode_stream(Path(name)))), decode_to_pcm(jfk_flac, RATE_HZ))


def _ffmpeg_pids_reading(path: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"file:{path}".encode() in argv:
                pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_closing_early_kills_ffmpeg(tmp_path: Path) -> None:
    path = tmp_path / "five-minutes.wav"
    # 9.6 MB of output: far more than the pipe holds, so ffmpeg is still running when we stop.
    path.write_bytes(pcm.to_wav(np.tile(np.arange(-800, 800, dtype=np.int16), 3000), RATE_HZ))
    stream = decode_stream(path, block_samples=1600)
    first = next(stream)
    assert len(first) == 1600
    pids = _ffmpeg_pids_reading(path)
    assert len(pids) == 1
    stream.close()
    assert not Path(f"/proc/{pids[0]}").exists()  # killed and reaped, not a zombie


def test_breaking_out_of_the_loop_kills_ffmpeg(tmp_path: Path) -> None:
    path = tmp_path / "five-minutes.wav"
    path.write_bytes(pcm.to_wav(np.tile(np.arange(-800, 800, dtype=np.int16), 3000), RATE_HZ))
    for _ in decode_stream(path, block_samples=1600):
        break
    assert _ffmpeg_pids_reading(path) == []


def test_text_file_is_a_decode_error_with_ffmpegs_reason(tmp_path: Path) -> None:
    path = tmp_path / "notes.flac"
    path.write_text("this is certainly not audio\n" * 20)
    with pytest.raises(AudioDecodeError, match=r"could not decode notes\.flac: .*Invalid data found") as info:
        list(decode_stream(path))
    assert isinstance(info.value, ValueError)
    assert len(str(info.value)) < 700


@pytest.mark.parametrize("content", [b"", b"fLaC\x00\x00\x00\x22" + bytes(20)], ids=["empty", "truncated-header"])
def test_empty_or_broken_file_is_a_decode_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.flac"
    path.write_bytes(content)
    with pytest.raises(AudioDecodeError, match=r"broken\.flac"):
        list(decode_stream(path))


def test_missing_file_is_a_decode_error(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="No such file"):
        list(decode_stream(tmp_path / "missing.flac"))


def test_zero_samples_is_no_audio(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(pcm.to_wav(np.zeros(0, dtype=np.int16), RATE_HZ))
    with pytest.raises(AudioDecodeError, match=r"^no audio in empty\.wav"):
        list(decode_stream(path))


def test_block_size_must_be_positive(jfk_path: Path) -> None:
    with pytest.raises(ValueError, match="block_samples"):
        next(decode_stream(jfk_path, block_samples=0))


def _open_fds() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


def test_no_file_descriptors_leak(jfk_path: Path) -> None:
    before = _open_fds()
    for _ in range(5):
        list(decode_stream(jfk_path))
        next(decode_stream(jfk_path)).sum()
    assert _open_fds() <= before
