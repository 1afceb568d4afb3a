"""The audiobook manifest: covers are checked by their bytes, not only by their names."""

from __future__ import annotations

from pathlib import Path

from voxbatch.manifest.tts import load_tts_manifest

PNG_HEADER = b"\x89PNG\r\n\x1a\n" + bytes(32)
JPEG_HEADER = b"\xff\xd8\xff\xe0" + bytes(32)


def test_covers_must_really_be_jpeg_or_png(tmp_path: Path) -> None:
    (tmp_path / "ok.png").write_bytes(PNG_HEADER)
    (tmp_path / "ok.jpg").write_bytes(JPEG_HEADER)
    (tmp_path / "fake.jpg").write_bytes(b"GIF89a" + bytes(32))
    (tmp_path / "cover.gif").write_bytes(b"GIF89a")
    (tmp_path / "m.csv").write_text(
        "id,text,format,cover_path\n"
        "a,Hello.,m4b,ok.png\n"
        "b,Hello.,mp3,ok.jpg\n"
        "c,Hello.,m4b,fake.jpg\n"
        "d,Hello.,m4b,cover.gif\n"
        "e,Hello.,m4b,missing.png\n"
    )
    rows, errors = load_tts_manifest(tmp_path / "m.csv")
    assert [r.id for r in rows] == ["a", "b"]
    reasons = {e.row: e.reason for e in errors}
    assert all(e.column == "cover_path" for e in errors)
    assert "fake.jpg is not a JPEG or PNG image" in reasons[4]
    assert "must be a JPEG or PNG image" in reasons[5] and "does not exist" in reasons[6]
