"""STT languages are checked against what the model knows, and only by shape for a model not listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.manifest.languages import WHISPER_LANGUAGES, language_problem
from voxbatch.manifest.stt import SttDefaults, load_stt_manifest

WHISPER = "openai/whisper-large-v3"


@pytest.mark.parametrize(
    ("model", "code", "ok"),
    [
        (WHISPER, "en", True),
        (WHISPER, "yue", True),
        (WHISPER, "auto", True),
        (WHISPER, "xx", False),
        (WHISPER, "english", False),
        (WHISPER, "pt-br", False),
        ("nvidia/parakeet-tdt-0.6b-v3", "de", True),
        ("nvidia/parakeet-tdt-0.6b-v3", "zh", False),
        ("someone/new-model", "xq", True),
        ("someone/new-model", "French", False),
    ],
)
def test_language_problem(model: str, code: str, ok: bool) -> None:
    assert (language_problem(model, code.lower()) is None) is ok


def test_whisper_knows_its_hundred_languages() -> None:
    assert len(WHISPER_LANGUAGES) == 100 and {"en", "de", "ja", "haw"} <= WHISPER_LANGUAGES


def test_row_languages_are_normalized_and_the_default_is_checked_per_row(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / "m.csv").write_text(
        "id,audio_path,language,model\nup,a.wav, EN ,\ndefault,a.wav,,\nother,a.wav,,nvidia/parakeet-tdt-0.6b-v3\n"
    )
    rows, errors = load_stt_manifest(tmp_path / "m.csv", SttDefaults(language="ja"))
    assert [(r.id, r.language) for r in rows] == [("up", "en"), ("default", "ja")]
    (error,) = errors
    assert (error.row, error.column) == (4, "language") and error.reason.endswith("(from --language)")
