"""Writing ``<id>.readalong.epub``: the book's text, its audio, and Media Overlays that tie one to the other.

Inside the ZIP (``mimetype`` first and stored)::

    META-INF/container.xml
    OEBPS/content.opf                  package: metadata, manifest, spine, media:duration, media:active-class
    OEBPS/nav.xhtml, OEBPS/style.css   table of contents; the highlight of what is being read
    OEBPS/chapter-001.xhtml, .smil     a page per chapter and its overlay (:mod:`.pages`, :mod:`.overlay`)
    OEBPS/audio/book.mp3 (or .m4a)     the finished book's audio
    OEBPS/images/cover.jpg             the cover, when the book has one

The audio must be an EPUB core media type that reading systems play: an mp3 book goes in as it is (audio/mpeg),
an m4b as ``book.m4a`` (the same bytes; audio/mp4). A wav, flac or opus book is transcoded to AAC in MP4 first
(``TRANSCODE_BITRATE_KBPS``): wav and flac are no core media types, and Ogg Opus, although EPUB 3.3 added it, is
not played by every reading system (Apple Books). The timeline is kept, so every clip still lands.

The timing (``words.json``) must belong to this very audio: its ``audio`` names the file and its ``duration_s``
agrees with the file's header within ``DURATION_TOLERANCE_S``; otherwise :class:`ReadalongError`. The EPUB is
checked (:mod:`.validate`) before it is written, and written atomically.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import uuid
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from voxbatch.atomic import create_temp_beside, write_atomic
from voxbatch.audio.containers import CoverError, cover_mime
from voxbatch.audio.ffmpeg import FFMPEG_TIMEOUT_S, STDERR_TAIL_CHARS, ffmpeg_exe
from voxbatch.audio.probe import AudioProbeError, probe_audio
from voxbatch.readalong.clips import GRANULARITIES, Granularity, targets, tile
from voxbatch.readalong.layout import ChunkHints, lay_out
from voxbatch.readalong.overlay import overlay
from voxbatch.readalong.package import (
    CONTAINER_XML,
    EPUB_MIMETYPE,
    OPF_PATH,
    PackageItem,
    PackageMeta,
    package_document,
)
from voxbatch.readalong.pages import ACTIVE_CLASS, STYLESHEET, STYLESHEET_HREF, chapter_page, navigation
from voxbatch.readalong.timing import BookTiming, ReadalongError
from voxbatch.readalong.validate import epub_problems

DURATION_TOLERANCE_S = 0.25  # words.json's duration against the audio file's header (which may round)
TRANSCODE_BITRATE_KBPS = 64
DEFAULT_LANGUAGE = "en"  # a book of no stated language was split into sentences by English rules
_ROOT = "OEBPS"
_AS_IS: Mapping[str, tuple[str, str]] = {  # suffix -> (media type, suffix inside the EPUB)
    ".mp3": ("audio/mpeg", ".mp3"),
    ".m4b": ("audio/mp4", ".m4a"),
    ".m4a": ("audio/mp4", ".m4a"),
}
_IDENTIFIER_NAMESPACE = uuid.UUID("2f8b6a52-7c1e-4d0c-9a61-0b7f3c5e9d14")  # voxbatch read-along books


@dataclass(frozen=True)
class BookInfo:
    """What the EPUB says about the book."""

    id: str  # the manifest row's id (with the title, it makes the EPUB's identifier)
    title: str
    author: str | None = None
    language: str | None = None  # None: DEFAULT_LANGUAGE
    cover_path: Path | None = None  # JPEG or PNG
    narrator: str | None = None  # the voice, as media:narrator


@dataclass(frozen=True)
class ReadalongOptions:
    """How the overlays are cut: per sentence (every reading system) or per word where timing allows."""

    granularity: Granularity = "sentence"
    transcode_bitrate_kbps: int = TRANSCODE_BITRATE_KBPS

    def __post_init__(self) -> None:
        if self.granularity not in GRANULARITIES:
            raise ReadalongError(f"granularity must be one of {', '.join(GRANULARITIES)}; got {self.granularity!r}")


@dataclass(frozen=True)
class ReadalongResult:
    """A written read-along EPUB."""

    path: Path
    chapters: int
    sentences: int
    clips: int
    duration_s: float
    audio_media_type: str
    transcoded: bool


@dataclass(frozen=True)
class _Audio:
    path: Path
    media_type: str
    href: str  # relative to the OPF
    transcoded: bool


@dataclass
class _Entries:
    """What goes into the ZIP after ``mimetype``: documents in memory, and files copied as they are."""

    documents: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def _transcode(source: Path, target: Path, bitrate_kbps: int) -> None:
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source)]
    argv += ["-vn", "-map", "0:a:0", "-map_metadata", "-1", "-map_chapters", "-1"]
    argv += ["-c:a", "aac", "-b:a", f"{bitrate_kbps}k", "-movflags", "+faststart", "-f", "mp4", str(target)]
    try:
        subprocess.run(argv, capture_output=True, check=True, timeout=FFMPEG_TIMEOUT_S * 4)
    except subprocess.CalledProcessError as exc:
        tail = exc.stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL_CHARS:]
        raise ReadalongError(f"{source.name} could not be transcoded to AAC for the EPUB: {tail}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ReadalongError(f"{source.name} could not be transcoded to AAC in time") from exc


@contextlib.contextmanager
def _epub_audio(source: Path, out_path: Path, bitrate_kbps: int) -> Iterator[_Audio]:
    """The audio to put in the EPUB: the book's own file, or an AAC copy beside ``out_path`` (removed after)."""
    kept = _AS_IS.get(source.suffix.lower())
    if kept is not None:
        yield _Audio(source, kept[0], f"audio/book{kept[1]}", transcoded=False)
        return
    fd, temp = create_temp_beside(out_path, ".m4a")
    os.close(fd)  # ffmpeg writes it by name
    try:
        _transcode(source, temp, bitrate_kbps)
        yield _Audio(temp, "audio/mp4", "audio/book.m4a", transcoded=True)
    finally:
        temp.unlink(missing_ok=True)


def _check_audio(audio_path: Path, timing: BookTiming) -> None:
    if timing.audio != audio_path.name:
        raise ReadalongError(f"the timing is of {timing.audio!r}, not of {audio_path.name!r}")
    try:
        probed = probe_audio(audio_path)
    except AudioProbeError as exc:
        raise ReadalongError(f"{audio_path.name} {exc}") from exc
    if abs(probed.duration_s - timing.duration_s) > DURATION_TOLERANCE_S:
        raise ReadalongError(
            f"{audio_path.name} lasts {probed.duration_s:.2f} s but its timing says {timing.duration_s:.2f} s: "
            "the timing is of another build of the book"
        )


def _zip(fh: BinaryIO, entries: _Entries, modified: datetime) -> None:
    stamp = modified.timetuple()[:6]
    with zipfile.ZipFile(fh, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype", stamp), EPUB_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        for name, data in entries.documents.items():
            archive.writestr(zipfile.ZipInfo(name, stamp), data, compress_type=zipfile.ZIP_DEFLATED)
        for name, path in entries.files.items():  # audio and images are compressed already
            archive.write(path, name, compress_type=zipfile.ZIP_STORED)


def _self_check(entries: _Entries, modified: datetime) -> None:
    """The documents as a ZIP with empty stand-ins for the files: a writer bug fails here, before anything is
    written."""
    draft = io.BytesIO()
    stand_ins = _Entries(dict(entries.documents), {})
    stand_ins.documents.update(dict.fromkeys(entries.files, b""))
    _zip(draft, stand_ins, modified)
    draft.seek(0)
    problems = epub_problems(draft)
    if problems:
        raise ReadalongError(f"the read-along EPUB came out invalid: {problems[0]}")


def write_readalong_epub(
    out_path: Path,
    audio_path: Path,
    timing: BookTiming,
    titles: Sequence[str],
    info: BookInfo,
    hints: Mapping[int, ChunkHints] | None = None,
    options: ReadalongOptions = ReadalongOptions(),
    modified: datetime | None = None,
) -> ReadalongResult:
    """Write the read-along EPUB of the finished book ``audio_path`` timed by ``timing``, its chapters named by
    ``titles``; ``hints`` (by chunk index) say where headings and paragraphs are (see :mod:`.layout`)."""
    _check_audio(audio_path, timing)
    language = info.language or DEFAULT_LANGUAGE
    modified = (modified or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    chapters = lay_out(timing, titles, language, hints)
    clips = tile([targets(chapter, options.granularity) for chapter in chapters], timing.duration_s)
    entries = _Entries({"META-INF/container.xml": CONTAINER_XML})
    items = [
        PackageItem("nav", "nav.xhtml", "application/xhtml+xml", properties="nav"),
        PackageItem("css", STYLESHEET_HREF, "text/css"),
    ]
    if info.cover_path is not None:
        try:
            mime = cover_mime(info.cover_path)
        except CoverError as exc:
            raise ReadalongError(str(exc)) from exc
        href = "images/cover.jpg" if mime == "image/jpeg" else "images/cover.png"
        items.append(PackageItem("cover", href, mime, properties="cover-image"))
        entries.files[f"{_ROOT}/{href}"] = info.cover_path
    durations_ms: dict[str, int] = {}
    contents = []
    with _epub_audio(audio_path, out_path, options.transcode_bitrate_kbps) as audio:
        for chapter, chapter_clips in zip(chapters, clips, strict=True):
            name = f"chapter-{chapter.number:03d}"
            page, smil, overlay_id = f"{name}.xhtml", f"{name}.smil", f"mo-{chapter.number:03d}"
            entries.documents[f"{_ROOT}/{page}"] = chapter_page(chapter, language)
            entries.documents[f"{_ROOT}/{smil}"] = overlay(page, audio.href, chapter_clips)
            items.append(PackageItem(f"page-{chapter.number:03d}", page, "application/xhtml+xml", overlay=overlay_id))
            items.append(PackageItem(overlay_id, smil, "application/smil+xml"))
            durations_ms[overlay_id] = sum(clip.duration_ms for clip in chapter_clips)
            contents.append((chapter.title, page))
        items.append(PackageItem("audio", audio.href, audio.media_type))
        entries.files[f"{_ROOT}/{audio.href}"] = audio.path
        identifier = uuid.uuid5(_IDENTIFIER_NAMESPACE, f"{info.id}\n{info.title}")
        meta = PackageMeta(
            f"urn:uuid:{identifier}", info.title, language, modified, info.author, info.narrator, ACTIVE_CLASS
        )
        spine = [item.id for item in items if item.overlay]
        entries.documents[OPF_PATH] = package_document(meta, items, spine, durations_ms)
        entries.documents[f"{_ROOT}/nav.xhtml"] = navigation(info.title, language, contents)
        entries.documents[f"{_ROOT}/{STYLESHEET_HREF}"] = STYLESHEET.encode()
        _self_check(entries, modified)
        write_atomic(out_path, lambda fh: _zip(fh, entries, modified))
    return ReadalongResult(
        path=out_path,
        chapters=len(chapters),
        sentences=sum(len(chapter.sentences) for chapter in chapters),
        clips=sum(len(chapter_clips) for chapter_clips in clips),
        duration_s=sum(durations_ms.values()) / 1000,
        audio_media_type=audio.media_type,
        transcoded=audio.transcoded,
    )
