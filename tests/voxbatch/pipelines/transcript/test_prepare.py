"""Preparing recordings: whole or split, skip-if-done, bad files, and URLs (over a real loopback server)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from voxbatch.manifest.stt import AudioRow
from voxbatch.pipelines.transcript.assemble import provenance
from voxbatch.pipelines.transcript.outputs import write_outputs
from voxbatch.pipelines.transcript.prepare import (
    PrepareOptions,
    default_split,
    file_fingerprint,
    prepare_file,
    span_key,
)
from voxbatch.pipelines.transcript.split import EMBEDDED_SPLIT, SplitOptions

ROW = AudioRow(None, "talk", "", "openai/whisper-large-v3", "en", None, False, "transcribe")


@pytest.fixture
def options(tmp_path: Path) -> PrepareOptions:
    return PrepareOptions(
        endpoint_id="embedded", download_dir=tmp_path / "dl", out_dir=tmp_path / "out", formats=("txt",)
    )


@pytest.fixture
def talk(tmp_path: Path, jfk_flac: bytes) -> AudioRow:
    path = tmp_path / "talk.flac"
    path.write_bytes(jfk_flac)
    return replace(ROW, source=str(path))


def test_a_short_small_file_is_sent_whole(talk: AudioRow, options: PrepareOptions) -> None:
    prepared = prepare_file(talk, options)
    plan = prepared.plan
    assert plan is not None and prepared.error is None and prepared.finished is None
    assert plan.whole and len(plan.spans) == 1 and plan.spans[0].end_s == pytest.approx(11.0, abs=0.01)
    assert plan.probe.codec == "flac" and plan.duration_s == pytest.approx(11.0, abs=0.05)


def test_a_file_over_the_duration_or_the_upload_limit_is_split(talk: AudioRow, options: PrepareOptions) -> None:
    small = SplitOptions(split_above_s=60.0, target_chunk_s=4.0, search_window_s=1.5, max_chunk_s=6.0, min_chunk_s=1.0)
    by_size = prepare_file(talk, replace(options, split=small, max_upload_bytes=100_000)).plan
    assert by_size is not None and not by_size.whole and len(by_size.spans) >= 2
    by_length = prepare_file(talk, replace(options, split=replace(small, split_above_s=5.0))).plan
    assert by_length is not None and by_length.spans == by_size.spans
    assert len(set(by_size.chunk_keys)) == len(by_size.spans)


def test_keys_follow_the_audio_and_the_options_not_the_path(talk: AudioRow, options: PrepareOptions) -> None:
    plan = prepare_file(talk, options).plan
    assert plan is not None
    moved = Path(talk.source).with_name("elsewhere.flac")
    moved.write_bytes(Path(talk.source).read_bytes())
    same = prepare_file(replace(talk, source=str(moved), id="other"), options).plan
    assert same is not None and same.chunk_keys == plan.chunk_keys and same.fingerprint == plan.fingerprint
    for changed in (replace(talk, language="de"), replace(talk, diarize=True), replace(talk, model="m/other")):
        assert file_fingerprint(changed, plan.sha256, "embedded") != plan.fingerprint
        assert span_key(changed, plan.sha256, "embedded", plan.spans[0], True) != plan.chunk_keys[0]
    assert file_fingerprint(talk, plan.sha256, "https://api.together.xyz/v1") != plan.fingerprint


def test_finished_outputs_are_found_before_probing(talk: AudioRow, options: PrepareOptions) -> None:
    plan = prepare_file(talk, options).plan
    assert plan is not None
    write_outputs(options.out_dir, "talk", {"txt": "hello\n"}, fingerprint=plan.fingerprint, duration_s=11.0, chunks=1)
    prepared = prepare_file(talk, options)
    assert prepared.plan is None and prepared.finished is not None
    assert prepared.finished.paths["txt"].read_text() == "hello\n"
    assert prepare_file(talk, replace(options, formats=("txt", "srt"))).plan is not None  # srt never made


def test_unreadable_files_are_row_errors(tmp_path: Path, options: PrepareOptions) -> None:
    (tmp_path / "empty.mp3").write_bytes(b"")
    prepared = prepare_file(replace(ROW, source=str(tmp_path / "empty.mp3"), row=7, id="e"), options)
    assert prepared.plan is None and prepared.error is not None
    assert str(prepared.error) == "row 7 (id 'e'), column 'audio_path': file empty.mp3 is empty (0 bytes)"


@pytest.fixture
def served(tmp_path: Path, jfk_flac: bytes) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "talk.flac").write_bytes(jfk_flac)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_urls_are_fetched_and_their_tokens_stay_out_of_the_outputs(
    served: str, options: PrepareOptions, jfk_flac: bytes
) -> None:
    row = replace(ROW, source=f"{served}/talk.flac?sig=SEKRIT-TOKEN", row=2)
    plan = prepare_file(row, options).plan
    assert plan is not None and plan.path.read_bytes() == jfk_flac and plan.path.is_relative_to(options.download_dir)
    assert "SEKRIT" not in repr(provenance(plan))
    missing = prepare_file(replace(row, source=f"{served}/gone.flac?sig=SEKRIT-TOKEN"), options)
    assert missing.error is not None and "HTTP 404" in str(missing.error) and "SEKRIT" not in str(missing.error)


def test_the_embedded_server_gets_short_chunks_unless_the_user_chose(options: PrepareOptions) -> None:
    assert options.split is None and options.split_options == EMBEDDED_SPLIT
    remote = replace(options, endpoint_id="https://api.together.xyz/v1")
    assert remote.split_options == SplitOptions()
    chosen = SplitOptions(target_chunk_s=300.0, search_window_s=30.0)
    assert replace(options, split=chosen).split_options == chosen
    assert default_split("embedded").max_chunk_s < SplitOptions().max_chunk_s
