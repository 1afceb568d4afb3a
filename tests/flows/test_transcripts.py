"""The transcript flow end to end on a local server over real sockets, with a real Prefect API.

Recognition quality is checked once, on the real recognizer (``test_jfk_is_transcribed_within_the_calibrated_
error_rate``); every other test is about what the flow does with the server's answers (splitting, merging,
times, resuming, row errors, URLs), so its server hears with the stand-in of
:mod:`voxbatch.server.fake_recognizer`, whose words and times for a file are known in advance
(:func:`tests.conftest.heard_by_fake`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import numpy.typing as npt
import pytest

from flows.transcripts import transcript_flow
from tests.conftest import JFK_TEXT, heard_by_fake
from voxbatch.audio.ffmpeg import decode_to_pcm, encode_pcm
from voxbatch.audio.pcm import to_wav
from voxbatch.audio.silence import SilenceOptions
from voxbatch.ledger.writer import read_ledger
from voxbatch.manifest.stt import SttDefaults
from voxbatch.pipelines.transcript.split import SplitOptions
from voxbatch.run.report import RunReport
from voxbatch.run.spec import RunSpec
from voxbatch.server.fake_recognizer import recognize_stand_in
from voxbatch.server.faults import FaultSpec
from voxbatch.server.runner import LocalServer

TRANSCRIBE = "/v1/audio/transcriptions"
TRANSLATE = "/v1/audio/translations"
RATE_HZ = 16000
JFK_WER_MAX = 0.30  # calibrated: the embedded recognizer scores 0.18 on jfk.flac (BENCHMARKS.md / issue 2)
WORD_TIME_TOLERANCE_S = 0.001  # the stand-in hears a word at its true time: only float sums differ
ROOM_NOISE_DBFS = -60.0
ARCHIVE_GAP_S = 560.0  # quiet room noise between the copies of the speech
ARCHIVE_COPIES = 4
ARCHIVE_LEAD_S, ARCHIVE_TAIL_S = 30.0, 60.0


def _run(source: Path, out: Path, server: LocalServer, **kwargs: Any) -> RunReport:
    settings = RunSpec(base_url=server.origin, max_attempts=kwargs.pop("max_attempts", 4))
    return asyncio.run(transcript_flow(str(source), str(out), spec=settings, **kwargs))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@pytest.fixture
def plain_server(make_server: Callable[..., LocalServer]) -> LocalServer:
    """A keyless server hearing with the stand-in recognizer."""
    return make_server(api_key=None, recognizer="fake")


@pytest.fixture
def sphinx_server(make_server: Callable[..., LocalServer]) -> LocalServer:
    """A keyless server hearing with the real recognizer."""
    return make_server(api_key=None)


def _room_noise(rng: np.random.Generator, n: int) -> npt.NDArray[np.int16]:
    """Quiet, low-pass ("brownish") noise at about ROOM_NOISE_DBFS, like an empty room through a microphone."""
    white = rng.standard_normal(n, dtype=np.float32)
    smooth = np.convolve(white, np.ones(20, dtype=np.float32) / 20, mode="same")
    scaled = smooth / smooth.std() * 32768 * 10 ** (ROOM_NOISE_DBFS / 20)
    return scaled.astype(np.int16)


@dataclass(frozen=True)
class Archive:
    """A long recording made in the test: its WAV file, its samples, and where each copy of the speech is."""

    path: Path
    pcm: npt.NDArray[np.int16]
    speech_spans: list[tuple[int, int]]  # [start, end) in samples at RATE_HZ


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, jfk_flac: bytes) -> Archive:
    """Over 30 minutes: copies of the real speech (with the room noise under them) between long quiet stretches.

    Written as 16-bit WAV (its header holds its length; the flow decodes it exactly, like a FLAC, at less cost).
    """
    rng = np.random.default_rng(20261121)
    speech = decode_to_pcm(jfk_flac, RATE_HZ)
    parts, spans, position = [], [], 0
    for copy in range(ARCHIVE_COPIES):
        gap = _room_noise(rng, int((ARCHIVE_GAP_S if copy else ARCHIVE_LEAD_S) * RATE_HZ))
        parts.append(gap)
        position += len(gap)
        noisy = np.clip(speech.astype(np.int32) + _room_noise(rng, len(speech)), -32768, 32767).astype(np.int16)
        parts.append(noisy)
        spans.append((position, position + len(noisy)))
        position += len(noisy)
    parts.append(_room_noise(rng, int(ARCHIVE_TAIL_S * RATE_HZ)))
    pcm = np.concatenate(parts)
    assert len(pcm) / RATE_HZ > 30 * 60
    path = tmp_path_factory.mktemp("archive") / "archive.wav"
    path.write_bytes(to_wav(pcm, RATE_HZ))
    return Archive(path, pcm, spans)


def _heard_in_archive(archive: Archive) -> list[tuple[str, float, float]]:
    """Where every word of the archive really is: what the stand-in hears in it, with times in the whole file.

    The stand-in hears nothing in the quiet (room noise is 30 dB under its word threshold) and hears a word the
    same, at the same time, in any stretch that holds it and the window around it
    (:mod:`voxbatch.server.fake_recognizer`), so each copy of the speech is heard with a second of the archive's
    own noise on either side, and its words are shifted by where that stretch starts.
    """
    margin = RATE_HZ
    words = []
    for start, end in archive.speech_spans:
        lo = start - margin
        heard = recognize_stand_in(archive.pcm[lo : end + margin], RATE_HZ).words
        words += [(w.word, lo / RATE_HZ + w.start_s, lo / RATE_HZ + w.end_s) for w in heard]
    return words


@pytest.mark.slow
def test_jfk_is_transcribed_within_the_calibrated_error_rate(
    prefect_harness: str, sphinx_server: LocalServer, tmp_path: Path, jfk_flac: bytes
) -> None:
    (tmp_path / "jfk.flac").write_bytes(jfk_flac)
    (tmp_path / "m.csv").write_text("id,audio_path,language\nspeech,jfk.flac,en\n")
    report = _run(tmp_path / "m.csv", tmp_path / "out", sphinx_server)
    entry = report.items["speech"]
    assert entry.status == "ok" and entry.chunks == 1
    out = tmp_path / "out"
    text = (out / "speech.txt").read_text()
    error = jiwer.wer(" ".join(_words(JFK_TEXT)), " ".join(_words(text)))
    assert error < JFK_WER_MAX, (error, text)
    data = json.loads((out / "speech.json").read_text())
    assert data["duration"] == pytest.approx(11.0, abs=0.05)
    assert data["audio_sha256"] and data["requested"]["language"] == "en" and len(data["chunks"]) == 1
    assert [w["start"] for w in data["words"]] == sorted(w["start"] for w in data["words"])
    srt = (out / "speech.srt").read_text()
    vtt = (out / "speech.vtt").read_text()
    assert srt.startswith("1\n00:00:0") and vtt.startswith("WEBVTT")
    assert sphinx_server.stats.count(TRANSCRIBE, 200) == 1

    ledger = read_ledger(out / "ledger", run_id=report.run_id)
    calls = ledger[ledger["kind"] == "call"]
    (item,) = ledger[ledger["kind"] == "item"].itertuples()
    assert len(calls) == 1 and calls.iloc[0]["chunk_index"] == 0 and calls.iloc[0]["audio_seconds"] == pytest.approx(11)
    assert (item.item_id, item.status, item.chunks, item.endpoint) == ("speech", "ok", 1, "transcript")
    assert item.audio_seconds == pytest.approx(11.0, abs=0.05) and item.cost_usd == calls["cost_usd"].sum()


@pytest.mark.slow
def test_a_long_archive_is_split_in_the_quiet_and_every_word_lands_where_it_is(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path, archive: Archive
) -> None:
    (tmp_path / "m.csv").write_text(f"id,audio_path\nlong,{archive.path}\n")  # outside the manifest's folder: allowed
    report = _run(tmp_path / "m.csv", tmp_path / "out", plain_server, allow_paths=[str(archive.path.parent)])
    entry = report.items["long"]
    assert entry.status == "ok" and entry.chunks >= 3
    assert plain_server.stats.count(TRANSCRIBE, 200) == entry.chunks
    data = json.loads((tmp_path / "out" / "long.json").read_text())
    assert len(data["chunks"]) == entry.chunks

    # Every cut fell in the quiet, never inside the speech (nor within half a second of it).
    speech_spans = [(start / RATE_HZ, end / RATE_HZ) for start, end in archive.speech_spans]
    for chunk in data["chunks"][1:]:
        assert not any(start - 0.5 < chunk["start"] < end + 0.5 for start, end in speech_spans), chunk

    # Every word of every copy is in the transcript once, in order, at its true place in the archive (the stand-in
    # hears each word where it is, so "where it really is" is known to the sample: 1 ms for float sums, not 100),
    # and there is nothing else: no word lost or doubled at a cut, none made up in the quiet.
    expected = _heard_in_archive(archive)
    assert len(expected) >= ARCHIVE_COPIES * 10  # every copy's speech is heard, word by word
    words = data["words"]
    assert all(any(s - 0.5 <= w["start"] <= e + 0.5 for s, e in speech_spans) for w in words)
    assert [w["word"] for w in words] == [word for word, _, _ in expected]
    times = [t for w in words for t in (w["start"], w["end"])]
    assert times == pytest.approx([t for _, start, end in expected for t in (start, end)], abs=WORD_TIME_TOLERANCE_S)


def test_hard_cuts_overlap_and_the_repeated_words_are_dropped(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path, jfk_flac: bytes
) -> None:
    (tmp_path / "jfk.flac").write_bytes(jfk_flac)
    (tmp_path / "m.csv").write_text("id,audio_path\nwhole,jfk.flac\n")
    whole = _run(tmp_path / "m.csv", tmp_path / "whole", plain_server, formats="json")
    assert whole.items["whole"].chunks == 1
    no_silence = SplitOptions(
        split_above_s=5.0,
        target_chunk_s=4.5,
        search_window_s=0.5,
        max_chunk_s=8.0,
        overlap_s=2.0,
        min_chunk_s=0.5,
        silence=SilenceOptions(threshold_dbfs=-200.0),  # nothing counts as silence
    )
    split = _run(tmp_path / "m.csv", tmp_path / "split", plain_server, formats="json,txt", split=no_silence)
    entry = split.items["whole"]
    assert entry.status == "ok" and entry.chunks >= 2
    data = json.loads((tmp_path / "split" / "whole.json").read_text())
    assert all(c["overlap"] > 0 for c in data["chunks"][1:])
    baseline = json.loads((tmp_path / "whole" / "whole.json").read_text())
    merged = [w["word"] for w in data["words"]]
    # The overlaps were heard twice; the merge keeps each word once, so the text is about as long as unsplit.
    assert len(merged) <= len(baseline["words"]) + 2
    for a, b in itertools.pairwise(merged):
        assert not (a == b and a not in ("and",)), merged
    # Nothing lost either: the merged words are the unsplit run's, at the same times (the stand-in hears a word the
    # same in any chunk that holds it whole; with a real recognizer this was a word error rate against JFK_TEXT).
    assert merged == [w["word"] for w in baseline["words"]] == heard_by_fake(jfk_flac)
    starts = [w["start"] for w in data["words"]]
    assert starts == pytest.approx([w["start"] for w in baseline["words"]], abs=0.002)


def test_translate_and_diarize_reach_the_server(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path, jfk_flac: bytes
) -> None:
    (tmp_path / "jfk.flac").write_bytes(jfk_flac)
    (tmp_path / "m.csv").write_text("id,audio_path,task,diarize\nen,jfk.flac,translate,\nwho,jfk.flac,,true\n")
    report = _run(tmp_path / "m.csv", tmp_path / "out", plain_server)
    assert {f.status for f in report.items.values()} == {"ok"}
    assert plain_server.stats.count(TRANSLATE, 200) == 1 and plain_server.stats.count(TRANSCRIBE, 200) == 1
    translated = json.loads((tmp_path / "out" / "en.json").read_text())
    diarized = json.loads((tmp_path / "out" / "who.json").read_text())
    assert (translated["task"] == "translate" and "speakers" not in translated) or not translated["speakers"]
    assert diarized["speakers"] == ["SPEAKER_00"]
    assert all(w.get("speaker") == "SPEAKER_00" for w in diarized["words"])
    assert "<v SPEAKER_00>" in (tmp_path / "out" / "who.vtt").read_text()


def test_bad_files_are_row_errors_and_the_rest_finish_then_a_rerun_sends_nothing(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path, jfk_flac: bytes
) -> None:
    folder = tmp_path / "inbox"
    (folder / "day1").mkdir(parents=True)
    (folder / "day1" / "speech.flac").write_bytes(jfk_flac)
    (folder / "corrupt.flac").write_bytes(jfk_flac[:300] + bytes(range(256)) * 200)
    (folder / "zero.wav").write_bytes(b"")
    (folder / "letter.mp3").write_text("Dear archive, this is a text file with an mp3 name.\n" * 10)
    (folder / "readme.txt").write_text("not even looked at")
    out = tmp_path / "out"
    report = _run(folder, out, plain_server)
    statuses = {item: f.status for item, f in report.items.items()}
    assert statuses == {"corrupt": "failed", "day1_speech": "ok", "letter": "failed", "zero": "failed"}
    errors = {item: report.items[item].error for item in ("corrupt", "letter", "zero")}
    assert "corrupt.flac is corrupt" in errors["corrupt"]
    assert "zero.wav is empty (0 bytes)" in errors["zero"]
    assert "letter.mp3 is not audio" in errors["letter"]
    assert all("column 'audio_path'" in e for e in errors.values())
    assert len(report.row_errors) == 3
    assert (out / "day1_speech.txt").is_file() and not (out / "zero.txt").exists()
    assert plain_server.stats.count(TRANSCRIBE) == 1  # nothing was sent for the bad files

    plain_server.stats.reset()
    again = _run(folder, out, plain_server)
    assert again.items["day1_speech"].status == "skipped"
    assert plain_server.stats.count() == 0  # a re-run sends zero requests

    # A new recording in the folder is the only one transcribed (a copy of a known one would come from the cache).
    (folder / "day2.flac").write_bytes(encode_pcm(decode_to_pcm(jfk_flac, RATE_HZ), RATE_HZ, ["-f", "flac"]))
    third = _run(folder, out, plain_server)
    assert third.items["day2"].status == "ok" and third.items["day1_speech"].status == "skipped"
    assert plain_server.stats.count(TRANSCRIBE) == 1
    ledger = read_ledger(out / "ledger", run_id=third.run_id)
    items = ledger[ledger["kind"] == "item"].set_index("item_id")
    assert items.loc["day1_speech", "status"] == "skipped" and items.loc["zero", "status"] == "failed"
    assert "empty (0 bytes)" in items.loc["zero", "error"]


def test_a_rerun_after_a_broken_run_resumes_inside_a_long_file(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path, jfk_flac: bytes
) -> None:
    rng = np.random.default_rng(5)
    speech = decode_to_pcm(jfk_flac, RATE_HZ)
    pcm = np.concatenate([np.concatenate([speech, _room_noise(rng, 3 * RATE_HZ)]) for _ in range(6)])
    (tmp_path / "talk.flac").write_bytes(encode_pcm(pcm, RATE_HZ, ["-f", "flac"]))
    small = SplitOptions(split_above_s=20.0, target_chunk_s=14.0, search_window_s=3.0, max_chunk_s=20.0, min_chunk_s=2)
    out = tmp_path / "out"
    plain_server.set_faults(FaultSpec(seed=11, p500=0.5))
    first = _run(tmp_path / "talk.flac", out, plain_server, split=small, max_attempts=1)
    ok_first = plain_server.stats.count(TRANSCRIBE, 200)
    assert first.items["talk"].status == "failed" and 0 < ok_first
    plain_server.set_faults("")
    plain_server.stats.reset()
    second = _run(tmp_path / "talk.flac", out, plain_server, split=small)
    entry = second.items["talk"]
    assert entry.status == "ok" and entry.from_cache == ok_first
    assert plain_server.stats.count(TRANSCRIBE) == entry.chunks - ok_first  # nothing paid for twice


def test_one_audio_file_can_be_given_directly_with_the_run_defaults(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path, jfk_flac: bytes
) -> None:
    (tmp_path / "Ask Not.flac").write_bytes(jfk_flac)
    defaults = SttDefaults(language="en", prompt="Kennedy")
    report = _run(tmp_path / "Ask Not.flac", tmp_path / "out", plain_server, defaults=defaults, formats="srt")
    assert report.items["Ask_Not"].status == "ok"
    assert sorted(p.name for p in (tmp_path / "out").glob("Ask_Not.*")) == ["Ask_Not.srt"]


def test_recordings_given_by_url_are_fetched_and_transcribed(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path, jfk_flac: bytes
) -> None:
    import http.server
    import threading

    www = tmp_path / "www"
    www.mkdir()
    (www / "speech.flac").write_bytes(jfk_flac)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(www), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/speech.flac?sig=SEKRIT"
        (tmp_path / "m.csv").write_text(f"audio_path\n{url}\n")
        report = _run(tmp_path / "m.csv", tmp_path / "out", plain_server)
    finally:
        httpd.shutdown()
    assert report.items["speech"].status == "ok"
    data = json.loads((tmp_path / "out" / "speech.json").read_text())
    assert data["source"].endswith("/speech.flac") and "SEKRIT" not in json.dumps(data)
    assert _words((tmp_path / "out" / "speech.txt").read_text()) == heard_by_fake(jfk_flac)  # the fetched speech
