"""Text files are judged by their bytes: what is not plain UTF-8 text is refused with what it is instead."""

from __future__ import annotations

import codecs
import os
import threading
from pathlib import Path

import pytest

from voxbatch.manifest.content import ContentError, not_audio, read_text_file, text_problem


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.4\n...", "a PDF document"),
        (b"PK\x03\x04rest", "a ZIP archive"),
        (b"  <!DOCTYPE html><html></html>", "an HTML page"),
        (codecs.BOM_UTF8 + b"<html><body>x</body></html>", "an HTML page"),
        (b'<?xml version="1.0"?>\n<html xmlns="x">', "an HTML page"),
        (b"{\\rtf1\\ansi hello}", "an RTF document"),
        (codecs.BOM_UTF16_LE + "hi".encode("utf-16-le"), "UTF-16"),
        (b"text with a \x00 NUL", "a NUL byte at offset 12"),
        (b"caf\xe9", "not valid UTF-8 (byte 0xe9 at offset 3)"),
        (b"\x01\x02\x03 mostly controls \x04\x05", "control characters"),
    ],
)
def test_what_is_not_text_says_what_it_is(data: bytes, reason: str) -> None:
    problem = text_problem(data)
    assert problem is not None and reason in problem


@pytest.mark.parametrize(
    "data",
    [
        b"Plain text.\n",
        codecs.BOM_UTF8 + "Über Text.\n".encode(),
        "Tabs\tand\r\nCRLF and a form feed\f and \u2028 separators.".encode(),
        b"# Markdown <b>with</b> a tag later\n",
        b"",
    ],
)
def test_plain_utf8_text_is_fine(data: bytes) -> None:
    assert text_problem(data) is None


def test_read_text_file_refuses_folders_pipes_and_huge_files_without_reading_them(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="is a folder"):
        read_text_file(tmp_path)
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    result: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(fifo, result), daemon=True)
    worker.start()
    worker.join(timeout=60)  # a hang guard only: refusing must not open the pipe
    assert not worker.is_alive() and isinstance(result[0], ContentError) and "not a regular file" in str(result[0])
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 101)
    with pytest.raises(ContentError, match="at most 100"):
        read_text_file(big, max_bytes=100)
    (tmp_path / "ok.txt").write_bytes(codecs.BOM_UTF8 + b"Hello.")
    assert read_text_file(tmp_path / "ok.txt") == "Hello."


def _capture(path: Path, into: list[BaseException]) -> None:
    try:
        read_text_file(path)
    except BaseException as exc:  # the test inspects it
        into.append(exc)


def test_not_audio_names_documents_and_leaves_audio_and_unknowns_to_ffmpeg(tmp_path: Path) -> None:
    cases = {
        "a.mp3": (b"%PDF-1.7", "is a PDF document, not audio"),
        "b.flac": (b"<html><body>", "is an HTML page, not audio"),
        "c.wav": (b"RIFF\x00\x00\x00\x00WAVE", None),
        "d.mp3": (b"ID3\x04", None),
        "e.wav": (b"Dear archive, a letter.", None),  # ffmpeg's probe says it is not audio
    }
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert not_audio(tmp_path / name) == expected, name
