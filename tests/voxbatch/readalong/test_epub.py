"""The read-along EPUB of a real stitched book: it opens, its overlays cover every sentence in order, and their total
duration equals the audio's (as decoded from the file, the way a reading system plays it)."""

from __future__ import annotations

import itertools
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from tests.voxbatch.manuscript.factory import png_bytes
from tests.voxbatch.readalong.factory import FinishedBook, decoded_duration_s, make_book
from voxbatch.readalong.epub import BookInfo, ReadalongOptions, write_readalong_epub
from voxbatch.readalong.timing import BookTiming, ReadalongError
from voxbatch.readalong.validate import clock_seconds, epub_problems

SMIL = "{http://www.w3.org/ns/SMIL}"
XHTML = "{http://www.w3.org/1999/xhtml}"
OPF = "{http://www.idpf.org/2007/opf}"
INFO = BookInfo("book", "Book", "Ann Author", "en")
MODIFIED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def mp3_book(tmp_path_factory: pytest.TempPathFactory) -> FinishedBook:
    return make_book(tmp_path_factory.mktemp("mp3"))


def _write(book: FinishedBook, out: Path, **kwargs: object) -> Path:
    titles = [row.title for row in book.result.chapters]
    write_readalong_epub(out, book.audio, book.timing, titles, kwargs.pop("info", INFO), **kwargs)  # type: ignore[arg-type]
    return out


def _clips(archive: zipfile.ZipFile) -> list[tuple[str, str, float, float]]:
    """(smil, text src, begin, end) of every par, in spine order."""
    found = []
    for n in (1, 2):
        smil = etree.fromstring(archive.read(f"OEBPS/chapter-00{n}.smil"))
        for par in smil.iter(f"{SMIL}par"):
            audio = par.find(f"{SMIL}audio")
            begin, end = clock_seconds(audio.get("clipBegin")), clock_seconds(audio.get("clipEnd"))
            assert begin is not None and end is not None
            found.append((f"chapter-00{n}", par.find(f"{SMIL}text").get("src"), begin, end))
    return found


def test_the_epub_opens_covers_every_sentence_in_order_and_lasts_as_long_as_its_audio(
    mp3_book: FinishedBook, tmp_path: Path
) -> None:
    path = _write(mp3_book, tmp_path / "book.readalong.epub", modified=MODIFIED)
    audio_s = decoded_duration_s(mp3_book.audio)
    assert epub_problems(path, audio_s) == []
    with zipfile.ZipFile(path) as archive:
        first = archive.infolist()[0]
        assert (first.filename, first.compress_type, archive.read(first)) == (
            "mimetype",
            zipfile.ZIP_STORED,
            b"application/epub+zip",
        )
        assert archive.read("OEBPS/audio/book.mp3") == mp3_book.audio.read_bytes()
        opf = etree.fromstring(archive.read("OEBPS/content.opf"))
        metas = {(m.get("property"), m.get("refines")): m.text for m in opf.iter(f"{OPF}meta")}
        assert metas[("dcterms:modified", None)] == "2024-05-06T07:08:09Z"
        assert metas[("media:active-class", None)] == "-epub-media-overlay-active"
        clips = _clips(archive)
        pages = {n: etree.fromstring(archive.read(f"OEBPS/chapter-00{n}.xhtml")) for n in (1, 2)}
    sentences = [
        (f"chapter-00{n}.xhtml#{span.get('id')}", "".join(span.itertext()))
        for n, page in pages.items()
        for span in page.iter(f"{XHTML}span")
        if span.get("class") == "sentence"
    ]
    assert [src for _, src, _, _ in clips] == [src for src, _ in sentences]  # each once, in document order
    assert [text for _, text in sentences] == [
        "CHAPTER I. The Door",
        "Anna opened the door.",
        "The hall was dark and quiet.",
        "She listened for a while.",
        "Then she went in.",
        '"Hello?" she said.',
        "Nobody answered.",
        "CHAPTER II. The Stairs",
        "The lamp showed a staircase.",
        "Mr. Smith was asleep at the top.",
    ]
    assert clips[0][2] == 0 and all(a[3] == b[2] for a, b in itertools.pairwise(clips))  # tiled, no gaps
    assert all(begin < end for _, _, begin, end in clips)
    total = sum(end - begin for _, _, begin, end in clips)
    assert total == pytest.approx(clock_seconds(metas[("media:duration", None)]), abs=1e-6)
    assert total == pytest.approx(audio_s, abs=0.005)
    chapter_two = sum(end - begin for smil, _, begin, end in clips if smil == "chapter-002")
    assert chapter_two == pytest.approx(clock_seconds(metas[("media:duration", "#mo-002")]), abs=1e-6)


def test_each_sentence_starts_when_its_first_word_is_spoken(mp3_book: FinishedBook, tmp_path: Path) -> None:
    path = _write(mp3_book, tmp_path / "book.readalong.epub")
    with zipfile.ZipFile(path) as archive:
        clips = _clips(archive)
    starts = {src.split("#")[1]: begin for _, src, begin, _ in clips}
    words = {chunk.index: chunk.words for chunk in mp3_book.timing.chunks}
    assert starts["c1s2"] == pytest.approx(words[1][0].start_s, abs=0.001)  # "Anna"
    assert starts["c1s3"] == pytest.approx(words[1][4].start_s, abs=0.001)  # "The hall..."
    assert starts["c2s1"] == pytest.approx(words[3][0].start_s, abs=0.001)  # chapter II's heading
    assert starts["c1s1"] == 0  # the lead-in plays with the first sentence


def test_word_granularity_gives_every_timed_word_its_own_clip(mp3_book: FinishedBook, tmp_path: Path) -> None:
    path = _write(mp3_book, tmp_path / "book.readalong.epub", options=ReadalongOptions("word"))
    assert epub_problems(path, decoded_duration_s(mp3_book.audio)) == []
    with zipfile.ZipFile(path) as archive:
        clips = _clips(archive)
    spoken = sum(len(chunk.text.split()) for chunk in mp3_book.timing.chunks)
    assert len(clips) == spoken and clips[1][1] == "chapter-001.xhtml#c1s1w2"


@pytest.mark.parametrize(("audio_format", "inside", "media_type"), [("m4b", "book.m4a", "audio/mp4")])
def test_an_m4b_goes_in_as_aac_in_mp4(tmp_path: Path, audio_format: str, inside: str, media_type: str) -> None:
    book = make_book(tmp_path / "book", audio_format=audio_format)
    path = _write(book, tmp_path / "book.readalong.epub")
    assert epub_problems(path, decoded_duration_s(book.audio)) == []
    with zipfile.ZipFile(path) as archive:
        assert archive.read(f"OEBPS/audio/{inside}") == book.audio.read_bytes()
        assert f'media-type="{media_type}"'.encode() in archive.read("OEBPS/content.opf")


def test_a_wav_book_is_transcoded_to_aac_and_keeps_its_timeline(tmp_path: Path) -> None:
    book = make_book(tmp_path / "book", audio_format="wav")
    titles = [row.title for row in book.result.chapters]
    result = write_readalong_epub(tmp_path / "book.readalong.epub", book.audio, book.timing, titles, INFO)
    assert result.transcoded and result.audio_media_type == "audio/mp4"
    with zipfile.ZipFile(result.path) as archive:
        inside = tmp_path / "inside.m4a"
        inside.write_bytes(archive.read("OEBPS/audio/book.m4a"))
    assert epub_problems(result.path, decoded_duration_s(inside)) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_the_cover_goes_in_as_the_cover_image(mp3_book: FinishedBook, tmp_path: Path) -> None:
    cover = tmp_path / "cover.png"
    cover.write_bytes(png_bytes())
    info = BookInfo("book", "Book", None, None, cover, narrator="af_heart")
    path = _write(mp3_book, tmp_path / "book.readalong.epub", info=info)
    assert epub_problems(path) == []
    with zipfile.ZipFile(path) as archive:
        assert archive.read("OEBPS/images/cover.png") == png_bytes()
        opf = archive.read("OEBPS/content.opf").decode()
    assert 'properties="cover-image"' in opf and ">af_heart</meta>" in opf and "<dc:language>en<" in opf


def test_timing_of_another_audio_file_or_build_is_refused(mp3_book: FinishedBook, tmp_path: Path) -> None:
    titles = [row.title for row in mp3_book.result.chapters]
    renamed = BookTiming("other.mp3", mp3_book.timing.duration_s, mp3_book.timing.chunks)
    with pytest.raises(ReadalongError, match=r"the timing is of 'other\.mp3', not of 'book\.mp3'"):
        write_readalong_epub(tmp_path / "x.epub", mp3_book.audio, renamed, titles, INFO)
    longer = BookTiming("book.mp3", mp3_book.timing.duration_s + 3, mp3_book.timing.chunks)
    with pytest.raises(ReadalongError, match="another build"):
        write_readalong_epub(tmp_path / "x.epub", mp3_book.audio, longer, titles, INFO)
    with pytest.raises(ReadalongError, match=r"2 chapters but chapters\.json names 1"):
        write_readalong_epub(tmp_path / "x.epub", mp3_book.audio, mp3_book.timing, titles[:1], INFO)
    assert not (tmp_path / "x.epub").exists()
