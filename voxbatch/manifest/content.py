"""Is a file what its name says? Text inputs are judged by their bytes before anything is read into a request.

A ``.txt`` that is really a PDF, a saved web page, a Word document (a ZIP), a binary file, or text in an
encoding other than UTF-8 is refused with the reason, so nothing of it is synthesized and paid for.
(EPUB, DOCX, PDF and HTML manuscripts are read by :mod:`voxbatch.manuscript`, which uses this module for plain
text; audio inputs and CSV manifests are judged here too.)
"""

from __future__ import annotations

import codecs
import re
import stat
from pathlib import Path

TEXT_MAX_BYTES = 64 * 1024 * 1024  # a long novel is ~1 MB of text; anything much larger is not a manuscript
SNIFF_BYTES = 4096
CONTROL_CHARS_MAX_RATIO = 0.01  # plain text has (almost) no control characters besides tab, newline, CR, FF
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")  # all but tab, newlines, VT, FF and ESC

# Leading bytes of formats people save with a text extension by mistake (and of a few that are never text).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (a .docx, .epub or .odt file?)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"{\\rtf", "an RTF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document (.doc)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a RIFF file (WAV audio?)"),
    (b"ID3", "an MP3 file"),
    (b"fLaC", "a FLAC file"),
    (b"OggS", "an Ogg file"),
    (b"\x7fELF", "a program (ELF)"),
)
_AUDIO_MAGIC = (b"RIFF", b"ID3", b"fLaC", b"OggS")  # whether these really are audio, ffmpeg's probe decides
_HTML_STARTS = ("<!doctype html", "<html", "<head", "<body")


class ContentError(ValueError):
    """The file's content is not what it should be; the message says what it is instead (one line)."""


def describe_binary(head: bytes) -> str | None:
    """What ``head`` (a file's first bytes) says the file is, when that is something other than plain text."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16 text (save it as UTF-8)"
    start = head.removeprefix(codecs.BOM_UTF8).lstrip().lower()
    if start.startswith(tuple(s.encode() for s in _HTML_STARTS)) or (start.startswith(b"<?xml") and b"<html" in start):
        return "an HTML page"
    return None


def not_audio(path: Path) -> str | None:
    """What a file given as audio is instead (a PDF, a web page, an archive...), when its first bytes say so.

    Only unmistakable signatures count; anything else (plain text too) is left to ffmpeg's probe.
    """
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(_AUDIO_MAGIC):
        return None
    what = describe_binary(head)
    return None if what is None else f"is {what}, not audio"


def text_problem(data: bytes) -> str | None:
    """Why ``data`` is not plain UTF-8 text, or None when it is."""
    what = describe_binary(data[:SNIFF_BYTES])
    if what is not None:
        return f"is {what}, not plain text"
    nul = data.find(b"\x00")
    if nul >= 0:
        return f"is a binary file, not plain text (a NUL byte at offset {nul})"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        return f"is not valid UTF-8 (byte 0x{bad} at offset {exc.start}); save it as UTF-8"
    if text:
        controls = len(_CONTROL.findall(text))
        if controls / len(text) > CONTROL_CHARS_MAX_RATIO:
            return f"is a binary file, not plain text ({controls} control characters in {len(text)})"
    return None


def read_text_file(path: Path, max_bytes: int = TEXT_MAX_BYTES) -> str:
    """The UTF-8 text of a regular file (a BOM is dropped); raises :class:`ContentError` or OSError."""
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise ContentError("is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise ContentError("is not a regular file (a device, pipe or socket)")
    if info.st_size > max_bytes:
        raise ContentError(f"is {info.st_size} bytes; text files may have at most {max_bytes}")
    data = path.read_bytes()[: max_bytes + 1]
    problem = text_problem(data)
    if problem is not None:
        raise ContentError(problem)
    return data.decode("utf-8-sig")
