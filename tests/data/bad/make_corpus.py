"""Writes the bad-input corpus in this folder (run from the repository root: python tests/data/bad/make_corpus.py).

The files are committed; this script documents how each was made and remakes them byte for byte.
What each case must produce is in cases.csv; README.md explains the layout.
"""

from __future__ import annotations

import codecs
import os
import subprocess
import zipfile
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
LONG_ID = "a" * 300
ZIP_DATE = (2020, 1, 1, 0, 0, 0)
GOOD_TEXT = "A short good book. It has two sentences.\n"


def write(relative: str, data: bytes | str) -> None:
    path = HERE / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def link(relative: str, target: str) -> None:
    path = HERE / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(target)


def docx_bytes() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in (("[Content_Types].xml", "<Types/>"), ("word/document.xml", "<w:document>One.</w:document>")):
            z.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), text)  # a fixed date: the same bytes every time
    return buffer.getvalue()


def tts() -> None:
    write("tts/texts/good.txt", GOOD_TEXT)
    write("tts/texts/paper.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    write("tts/texts/page.md", "<!DOCTYPE html>\n<html><head><title>Book</title></head><body>Text</body></html>\n")
    write("tts/texts/novel.txt", docx_bytes())
    write("tts/texts/binary.txt", bytes(range(256)) * 4)
    write("tts/texts/latin1.txt", "Café au lait, s'il vous plaît.\n".encode("latin-1"))
    write("tts/texts/utf16.txt", codecs.BOM_UTF16_LE + "A book saved as UTF-16.\n".encode("utf-16-le"))
    write("tts/texts/controls.txt", "Text\x01with\x02control\x03characters\x04everywhere\x05.\x06\x07\x08\n")
    write("tts/texts/empty.txt", b"")
    write("tts/texts/blank.txt", "   \n\n\t\n")
    write("tts/texts/cover.jpg", "not a JPEG at all\n")
    write("tts/texts/cover.gif", b"GIF89a" + bytes(16))
    write("shared/ok.txt", "A book kept in a shared folder, read only with --allow-path.\n")
    link("tts/link-outside.txt", "../../carroll-alice.txt")  # a real book outside the manifest's folder

    header = "id,title,text,text_path,format,cover_path\n"
    rows = [
        "good-inline,,Hello from the first good row.,,mp3,\n",  # row 2
        'good-multiline,,"A good row whose text\nspans two lines.",,mp3,\n',  # row 3 (lines 3-4)
        "good-file,,,texts/good.txt,mp3,\n",  # row 4
        "etc-passwd,,,/etc/passwd,mp3,\n",  # row 5
        "dotdot,,,../../secret.txt,mp3,\n",  # row 6
        "symlink,,,link-outside.txt,mp3,\n",  # row 7
        "pdf,,,texts/paper.txt,mp3,\n",  # row 8
        "html,,,texts/page.md,mp3,\n",  # row 9
        "docx,,,texts/novel.txt,mp3,\n",  # row 10
        "binary,,,texts/binary.txt,mp3,\n",  # row 11
        "latin1,,,texts/latin1.txt,mp3,\n",  # row 12
        "utf16,,,texts/utf16.txt,mp3,\n",  # row 13
        "controls,,,texts/controls.txt,mp3,\n",  # row 14
        "empty-file,,,texts/empty.txt,mp3,\n",  # row 15
        "blank-file,,,texts/blank.txt,mp3,\n",  # row 16
        "missing,,,texts/missing.txt,mp3,\n",  # row 17
        "folder,,,texts,mp3,\n",  # row 18
        "url,,,https://example.org/book.txt,mp3,\n",  # row 19
        f"{LONG_ID},,Hi.,,mp3,\n",  # row 20
        "../evil,,Hi.,,mp3,\n",  # row 21
        ".hidden,,Hi.,,mp3,\n",  # row 22
        "-y,,Hi.,,mp3,\n",  # row 23
        ",,Hi.,,mp3,\n",  # row 24
        "good-inline,,Again.,,mp3,\n",  # row 25
        "both,,Hi.,texts/good.txt,mp3,\n",  # row 26
        "neither,,,,mp3,\n",  # row 27
        "format,,Hi.,,wma,\n",  # row 28
        "cover-etc,,Hi.,,mp3,/etc/hostname\n",  # row 29
        "cover-fake,,Hi.,,mp3,texts/cover.jpg\n",  # row 30
        "cover-gif,,Hi.,,mp3,texts/cover.gif\n",  # row 31
        "ragged,,Hello, world,,mp3,\n",  # row 32: an unquoted comma
        'stray-quote,,"He said "hi" to me",,mp3,\n',  # row 33
        "allowed,,,../shared/ok.txt,mp3,\n",  # row 34: allowed only with --allow-path
        "good-last,,The last good row.,,mp3,\n",  # row 35
        'unclosed,,"This quote never closes,,mp3,\n',  # row 36
        "swallowed,,Never read: the quote above swallows it.,,mp3,\n",
    ]
    data = (header + "".join(rows)).encode("utf-8")
    # Row 37 would be here; instead a cell with bytes that are not UTF-8 sits before the unclosed quote.
    latin1_row = "latin1-cell,Caf\xe9,Hi.,,mp3,\n".encode("latin-1")
    nul_row = b"nul-cell,,Hi\x00there.,,mp3,\n"
    cut = data.index(b"good-last,")
    write("tts/books.csv", data[:cut] + latin1_row + nul_row + data[cut:])

    write("tts/semicolon.csv", "id;text\ngood-semi;Hello from a semicolon file.\nsemi-bad;\n")
    write("tts/tabs.csv", "id\ttext\tformat\ngood-tab\tHello from a tab file.\tmp3\ntab-bad\tHi.\taiff\n")
    write("tts/excel.csv", codecs.BOM_UTF8 + b"id;text;format\r\ngood-excel;Hello;mp3\r\nexcel-bad;Hello;ogg\r\n")
    write("tts/header-only.csv", "id,text\n")
    write("tts/no-id-column.csv", "name,text\nbook,Hello.\n")
    write("tts/duplicate-column.csv", "id,text,text\nbook,Hello.,Again.\n")
    write("tts/pdf-manifest.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    write("tts/xlsx-manifest.csv", docx_bytes())
    write("tts/books.txt", "id,text\nbook,Hello.\n")
    write("tts/empty.csv", b"")


def stt() -> None:
    ffmpeg = subprocess.run(
        [
            os.environ.get("PYTHON", "python"),
            "-c",
            "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    jfk = REPO / "manifests" / "audio" / "jfk.flac"
    for target in ("stt/audio/good.flac", "stt/folder/good.flac"):
        (HERE / target).parent.mkdir(parents=True, exist_ok=True)
        argv = [ffmpeg, "-loglevel", "error", "-y", "-i", str(jfk), "-t", "3", "-ac", "1", "-ar", "16000"]
        subprocess.run([*argv, str(HERE / target)], check=True)
    write("stt/audio/letter.wav", "Dear archive, this is a letter, not a recording.\n" * 20)
    write("stt/audio/paper.mp3", b"%PDF-1.7\n" + b"0" * 2000)
    write("stt/audio/page.flac", "<!DOCTYPE html><html><body>" + "Not audio. " * 200 + "</body></html>\n")
    write("stt/audio/empty.wav", b"")
    link("stt/audio/link-outside.flac", "../../../../../manifests/audio/jfk.flac")  # real speech, outside
    write("stt/folder/notes.txt", "Not an audio extension: ignored.\n")
    link("stt/folder/link-outside.flac", "../../../../../manifests/audio/jfk.flac")

    header = "id,audio_path,language,model,task,diarize\n"
    rows = [
        "good,audio/good.flac,en,,,\n",  # row 2
        "etc-passwd,/etc/passwd,,,,\n",  # row 3
        "dotdot,../../../../manifests/audio/jfk.flac,,,,\n",  # row 4
        "symlink,audio/link-outside.flac,,,,\n",  # row 5
        "ftp,ftp://example.org/a.mp3,,,,\n",  # row 6
        "file-url,file:///etc/passwd,,,,\n",  # row 7
        "missing,audio/missing.flac,,,,\n",  # row 8
        "folder,audio,,,,\n",  # row 9
        "empty-path,,,,,\n",  # row 10
        "lang-word,audio/good.flac,english,,,\n",  # row 11
        "lang-xx,audio/good.flac,xx,,,\n",  # row 12
        "lang-region,audio/good.flac,en-US,,,\n",  # row 13
        "parakeet-ja,audio/good.flac,ja,nvidia/parakeet-tdt-0.6b-v3,,\n",  # row 14
        "task,audio/good.flac,,,summarize,\n",  # row 15
        "diarize,audio/good.flac,,,,maybe\n",  # row 16
        "translate-diarize,audio/good.flac,,,translate,true\n",  # row 17
        f"{LONG_ID},audio/good.flac,,,,\n",  # row 18
        "a/b,audio/good.flac,,,,\n",  # row 19
        "good,audio/good.flac,,,,\n",  # row 20
        "letter,audio/letter.wav,,,,\n",  # row 21: probed later
        "paper,audio/paper.mp3,,,,\n",  # row 22: probed later
        "page,audio/page.flac,,,,\n",  # row 23: probed later
        "zero,audio/empty.wav,,,,\n",  # row 24: probed later
        "ragged,audio/good.flac,en,,,,extra\n",  # row 25
        'stray-quote,"audio/good.flac"x,,,,\n',  # row 26
        "good-translate,audio/good.flac,,,translate,\n",  # row 27
        'unclosed,"audio/good.flac,,,,\n',  # row 28
        "swallowed,audio/good.flac,,,,\n",
    ]
    write("stt/recordings.csv", header + "".join(rows))
    write("stt/semicolon.csv", "audio_path;language\naudio/good.flac;en\naudio/nothing.flac;en\n")
    write("stt/header-only.csv", "id,audio_path\n")
    write("stt/no-audio-path.csv", "id,path\na,audio/good.flac\n")


if __name__ == "__main__":
    tts()
    stt()
