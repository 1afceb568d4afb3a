"""The audiobook manifest: covers are checked by their bytes, not only by their names; empty cells' defaults."""

from __future__ import annotations

from pathlib import Path

from voxbatch.manifest.tts import BookDefaults, load_tts_manifest

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


def _voices(tmp_path: Path, defaults: BookDefaults) -> dict[str, tuple[str, str]]:
    (tmp_path / "m.csv").write_text(
        "id,text,model,voice\n"
        "kokoro,Hello.,,\n"
        "orpheus,Hello.,canopylabs/orpheus-3b-0.1-ft,\n"
        "cartesia,Hello.,cartesia/sonic-2,\n"
        "unknown,Hello.,kokoro,\n"
        "named,Hello.,canopylabs/orpheus-3b-0.1-ft,leo\n"
    )
    rows, errors = load_tts_manifest(tmp_path / "m.csv", defaults)
    assert errors == []
    assert {r.id: r.voice_is_default for r in rows} == {
        "kokoro": defaults.voice is None,
        "orpheus": defaults.voice is None,
        "cartesia": defaults.voice is None,
        "unknown": defaults.voice is None,
        "named": False,  # a catalog may replace only a voice nobody named (AudiobookPipeline.fit)
    }
    return {r.id: (r.model, r.voice) for r in rows}


def test_a_row_without_a_voice_gets_its_models_default_voice(tmp_path: Path) -> None:
    assert _voices(tmp_path, BookDefaults()) == {
        "kokoro": ("hexgrad/Kokoro-82M", "af_heart"),  # as before
        "orpheus": ("canopylabs/orpheus-3b-0.1-ft", "tara"),  # was af_heart, which Orpheus refuses
        "cartesia": ("cartesia/sonic-2", "friendly sidekick"),
        "unknown": ("kokoro", "af_heart"),  # a model we know no voices of: as before
        "named": ("canopylabs/orpheus-3b-0.1-ft", "leo"),
    }
    on_orpheus = _voices(tmp_path, BookDefaults(model="canopylabs/orpheus-3b-0.1-ft"))
    assert on_orpheus["kokoro"] == ("canopylabs/orpheus-3b-0.1-ft", "tara")  # the run's --model, its voice


def test_the_runs_voice_wins_over_the_models_default(tmp_path: Path) -> None:
    voices = _voices(tmp_path, BookDefaults(voice="af_bella"))
    assert {row: voice for row, (_, voice) in voices.items()} == {
        "kokoro": "af_bella",
        "orpheus": "af_bella",  # --voice applies to every row without one, as the user asked
        "cartesia": "af_bella",
        "unknown": "af_bella",
        "named": "leo",
    }
