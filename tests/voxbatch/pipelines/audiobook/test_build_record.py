"""A book's build record is found from its id alone, where the assembled book's outputs put it."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.pipelines.audiobook.assemble import BookOutputs
from voxbatch.pipelines.audiobook.build_record import build_record_path


@pytest.mark.parametrize("audio_format", ["mp3", "m4b", "wav", "flac", "opus"])
def test_the_build_record_is_the_assembled_books_whatever_its_format(tmp_path: Path, audio_format: str) -> None:
    assert build_record_path(tmp_path, "alice") == BookOutputs.for_book(tmp_path, "alice", audio_format).build
