"""What is spoken, and by whom, end to end: a two-voice chapter and a cast chapter synthesized by the local server
over real sockets (espeak voices), each voice's characters in the ledger, and a pause tag measured in the samples
of the stitched book."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from flows.audiobook import audiobook_flow
from voxbatch.cache import ChunkCache
from voxbatch.ledger.writer import read_ledger
from voxbatch.manifest.markup import MarkupDefaults
from voxbatch.manifest.tts import BookDefaults, load_tts_manifest
from voxbatch.pipelines.audiobook.plan import BookPlan, plan_book
from voxbatch.run.report import RunReport
from voxbatch.run.spec import RunSpec
from voxbatch.server.runner import LocalServer

SPEECH = "/v1/audio/speech"
BOOK_SAMPLE_RATE_HZ = 24000  # the books' model (the default, Kokoro) speaks at 24 kHz, so the books are at it
PAUSE_S = 1.5
TWO_VOICES = """Anna opened the door and looked into the hall. “Is anyone here?” she called. [pause: 1.5s] Nobody
answered, so she went in.

“Hello,” said a voice from the stairs, “I have been waiting for you.”
"""
CAST_BOOK = """[Alice] “Have some wine,” the March Hare said in an encouraging tone.

[Hatter] “Your hair wants cutting,” said the Hatter, who had been looking at Alice.

[Alice] You should learn not to make personal remarks.

[Narrator] The Hatter opened his eyes very wide on hearing this.
"""
CAST_JSON = '{"Alice": "af_bella", "Hatter": "bm_george"}'


@pytest.fixture
def plain_server(make_server: Callable[..., LocalServer]) -> LocalServer:
    return make_server(api_key=None)


def _manifest(folder: Path) -> Path:
    (folder / "two.txt").write_text(TWO_VOICES, encoding="utf-8")
    (folder / "cast.txt").write_text(CAST_BOOK, encoding="utf-8")
    (folder / "cast.json").write_text(CAST_JSON, encoding="utf-8")
    (folder / "lexicon.csv").write_text("term,spoken\nHatter,Hat-ter\n", encoding="utf-8")
    path = folder / "manifest.csv"
    path.write_text(
        "id,text_path,format,dialogue_voice,cast_path\ntwo-voices,two.txt,wav,am_adam,\ncast,cast.txt,wav,,cast.json\n",
        encoding="utf-8",
    )
    return path


def _plans(manifest: Path, markup: MarkupDefaults, server: LocalServer) -> dict[str, BookPlan]:
    rows, errors = load_tts_manifest(manifest, BookDefaults(markup=markup))
    assert errors == []
    return {row.id: plan_book(row, server.origin + "/v1") for row in rows}


def _chars_by_voice(plan: BookPlan) -> dict[str, int]:
    totals: dict[str, int] = {}
    for job in plan.jobs:
        totals[job.speech.voice] = totals.get(job.speech.voice, 0) + len(job.chunk.spoken)
    return totals


def _wav_samples(path: Path) -> np.ndarray:
    with wave.open(str(path)) as audio:
        assert audio.getframerate() == BOOK_SAMPLE_RATE_HZ and audio.getnchannels() == 1
        return np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2").astype(np.float64)


def _locate(book: np.ndarray, chunk: np.ndarray) -> int:
    """Where ``chunk`` starts in ``book``, to the sample: the peak of their cross-correlation (the stitch only
    scales a chunk and fades its edges, so it correlates best where it was put)."""
    size = 1 << (len(book) + len(chunk)).bit_length()
    correlation = np.fft.irfft(np.fft.rfft(book, size) * np.conj(np.fft.rfft(chunk, size)), size)
    return int(np.argmax(correlation[: len(book) - len(chunk) + 1]))


def _run(manifest: Path, out: Path, server: LocalServer, markup: MarkupDefaults) -> RunReport:
    return asyncio.run(audiobook_flow(str(manifest), str(out), spec=RunSpec(base_url=server.origin), markup=markup))


def test_two_voices_a_cast_and_an_exact_pause(prefect_harness: str, plain_server: LocalServer, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    markup = MarkupDefaults(lexicon_path=str(tmp_path / "lexicon.csv"))  # the run's --lexicon
    out = tmp_path / "out"
    report = _run(manifest, out, plain_server, markup)
    assert report.row_errors == []
    assert {item.status for item in report.items.values()} == {"ok"}
    plans = _plans(manifest, markup, plain_server)

    # Each voice's characters, from the plan, in the ledger's call records and in what the server was sent.
    expected = {"two-voices": {"af_heart", "am_adam"}, "cast": {"af_heart", "af_bella", "bm_george"}}
    ledger = read_ledger(out / "ledger", run_id=report.run_id)
    calls = ledger[ledger["kind"] == "call"]
    for item_id, voices in expected.items():
        by_voice = calls[calls["item_id"] == item_id].groupby("voice")["input_chars"].sum().to_dict()
        assert by_voice == _chars_by_voice(plans[item_id]) and set(by_voice) == voices
    served: dict[str, int] = {}
    for request in plain_server.stats.requests(SPEECH, 200):
        assert request.voice is not None
        served[request.voice] = served.get(request.voice, 0) + request.characters
    assert served == calls.groupby("voice")["input_chars"].sum().to_dict()

    # Tags are never read aloud; the lexicon changed what was said, the captions keep what was written.
    cast_plan = plans["cast"]
    spoken = [(job.speech.voice, job.chunk.spoken) for job in cast_plan.jobs]
    assert not any("[" in text for _, text in spoken)
    assert ("af_bella", '"Have some wine,"') in spoken
    assert ("bm_george", '"Your hair wants cutting,"') in spoken
    assert ("af_bella", "You should learn not to make personal remarks.") in spoken
    assert ("af_heart", "The Hat-ter opened his eyes very wide on hearing this.") in spoken
    srt = (out / "cast.srt").read_text(encoding="utf-8")
    shown = " ".join(srt.split())  # captions wrap at 42 characters: a phrase may span a cue's two lines
    assert "The Hatter opened his eyes" in shown and "Hat-ter" not in srt and "[Alice]" not in srt

    # The pause tag: exactly 1.5 s of digital silence between the two chunks around it, found in the samples.
    two = plans["two-voices"]
    cache = ChunkCache(out / ".voxbatch-cache")
    (number,) = [n for n, job in enumerate(two.jobs) if job.chunk.pause_s is not None]
    before, after = two.jobs[number], two.jobs[number + 1]
    assert before.chunk.spoken == "she called." and after.chunk.spoken.startswith("Nobody answered")
    book = _wav_samples(out / "two-voices.wav")
    chunks = []
    for job in (before, after):
        cached = cache.get(job.key)
        assert cached is not None
        chunks.append(np.frombuffer(cached.pcm_path.read_bytes(), dtype="<i2").astype(np.float64))
    start_before, start_after = _locate(book, chunks[0]), _locate(book, chunks[1])
    silence_start = start_before + len(chunks[0])
    assert start_after - silence_start == round(PAUSE_S * BOOK_SAMPLE_RATE_HZ)
    assert not book[silence_start:start_after].any()
    # ... where the timeline puts it: the lead-in, then every chunk and the pause after it.
    pauses = {"sentence": 0.3, "paragraph": 0.8, "chapter": 2.0}
    position = round(0.5 * BOOK_SAMPLE_RATE_HZ)
    for job in two.jobs[:number]:
        cached = cache.get(job.key)
        assert cached is not None
        position += cached.pcm_path.stat().st_size // 2 + round(pauses[job.chunk.pause_after] * BOOK_SAMPLE_RATE_HZ)
    assert start_before == position


def test_an_unknown_speaker_is_a_row_error_and_nothing_is_sent(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path
) -> None:
    (tmp_path / "cast.json").write_text(CAST_JSON, encoding="utf-8")
    (tmp_path / "book.txt").write_text("[Alice] Hello.\n\n[Dormouse] Twinkle, twinkle.\n", encoding="utf-8")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("id,text_path,cast_path\nbook,book.txt,cast.json\n", encoding="utf-8")
    report = _run(manifest, tmp_path / "out", plain_server, MarkupDefaults())
    (error,) = report.row_errors
    assert "row 2" in error and "column 'text'" in error and "[Dormouse]" in error and "not in the cast" in error
    assert plain_server.stats.count(SPEECH, 200) == 0
