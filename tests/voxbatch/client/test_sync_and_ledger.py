"""The blocking wrapper, and ledger files written by a run read back with pandas, over the fake transport
(answered as the local server would: :class:`FakeServer`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import JFK_TEXT, TEST_API_KEY
from tests.voxbatch.client.conftest import FAST_RETRY
from tests.voxbatch.client.fake_server import FakeServer
from voxbatch.client.client import CallContext, SpeechOptions
from voxbatch.client.errors import BadRequestError
from voxbatch.client.fake_transport import FakeTransport, Received, Reply, plausible_reply, transcript_reply
from voxbatch.client.options import ClientOptions
from voxbatch.client.sync import SyncSpeechClient
from voxbatch.ledger.items import TallyingSink
from voxbatch.ledger.record import CallRecord
from voxbatch.ledger.writer import LedgerWriter, read_ledger
from voxbatch.server.faults import FaultSpec

KOKORO = SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart")
LOCAL_OPTIONS = ClientOptions(api_key=TEST_API_KEY, base_url="http://127.0.0.1:9", retry=FAST_RETRY)


async def no_sleep(_: float) -> None:
    return None


def hears_jfk(received: Received) -> Reply:
    if received.kind == "transcriptions":
        return transcript_reply(JFK_TEXT, 11.0)
    return plausible_reply(received)


def test_sync_client_speaks_transcribes_and_lists_voices(jfk_flac: bytes) -> None:
    fake = FakeTransport(respond=hears_jfk)
    with SyncSpeechClient(LOCAL_OPTIONS, transport=fake) as client:
        speech = client.speak("Hello from a script.", KOKORO)
        transcript = client.transcribe(jfk_flac)
        voices = client.voices()
    assert speech.duration_s and speech.duration_s > 0.5
    assert "country" in transcript.text
    assert "af_heart" in voices["hexgrad/Kokoro-82M"]
    assert [r.kind for r in fake.received] == ["speech", "transcriptions", "voices"] and fake.closed


def test_ledger_files_read_back_with_the_right_rows(tmp_path: Path) -> None:
    fake = FakeTransport(respond=FakeServer(faults=FaultSpec(seed=9, p503=0.3, retry_after_s=0.01)))
    with (
        LedgerWriter(tmp_path / "ledger", "run-42") as ledger,
        SyncSpeechClient(
            LOCAL_OPTIONS, transport=fake, sleep=no_sleep, ledger=ledger.append, run_id="run-42", flow="audiobook"
        ) as client,
    ):
        for i, text in enumerate(["One.", "Two, three.", "Four five six."]):
            client.speak(text, KOKORO, context=CallContext("chapter-1", i))
        with pytest.raises(BadRequestError):
            client.speak("Bad.", SpeechOptions(model="hexgrad/Kokoro-82M", voice="nobody"),
                         context=CallContext("chapter-2", 0))  # fmt: skip
    frame = read_ledger(tmp_path / "ledger", run_id="run-42")
    assert len(frame) == 4
    frame = frame.sort_values(["item_id", "chunk_index"])
    assert list(frame["status"]) == ["ok", "ok", "ok", "failed"]
    assert list(frame["input_chars"]) == [4, 11, 14, 4]
    assert frame["attempts"].sum() == len(fake.received)
    assert (frame["flow"] == "audiobook").all() and (frame["provider"] == "local").all()
    ok = frame[frame["status"] == "ok"]
    assert (ok["cost_usd"] == ok["input_chars"] * 4 / 1e6).all()
    assert (ok["audio_seconds"] > 0).all() and ok["ttfb_s"].notna().all()
    assert frame["started_at"].dt.tz is not None
    assert list((tmp_path / "ledger").glob("date=*/run-run-42-*.parquet"))


def test_a_ledger_that_cannot_write_never_costs_a_paid_answer(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[CallRecord] = []

    def full_disk(rec: CallRecord) -> None:
        raise OSError(28, "No space left on device")

    tally = TallyingSink(full_disk)
    tally.listeners.append(seen.append)  # the budget and the progress display listen here
    with SyncSpeechClient(LOCAL_OPTIONS, transport=FakeTransport(), ledger=tally, run_id="r") as client:
        result = client.speak("Paid for, so kept.", SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart"))
    assert result.audio  # the answer reached the caller
    assert [r.status for r in seen] == ["ok"]
    assert "not written" in caplog.text and TEST_API_KEY not in caplog.text
