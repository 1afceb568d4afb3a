"""The fake transport: scripted answers, recorded requests, audio and transcripts that parse, the wire's errors,
and no sleep, clock or socket anywhere."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_API_KEY
from voxbatch.audio.pcm import from_wav
from voxbatch.client.call_options import CallContext, SpeechOptions, TranscriptionOptions
from voxbatch.client.client import SpeechClient
from voxbatch.client.errors import (
    APIConnectionError,
    APITimeoutError,
    RateLimitError,
    SpeechAPIError,
    StreamTruncatedError,
    from_transport_error,
)
from voxbatch.client.fake_transport import (
    FAKE_CHARS_PER_S,
    FakeTransport,
    Fault,
    Received,
    Reply,
    error_reply,
    pcm_reply,
    plausible_reply,
    transcript_reply,
    wav_reply,
)
from voxbatch.client.options import ClientOptions
from voxbatch.client.records import outcome_unknown
from voxbatch.client.results import CallInfo, WordTime, parse_transcript
from voxbatch.client.retry import RetryPolicy
from voxbatch.client.transport import SpeechRequest, TranscriptionRequest
from voxbatch.ledger.record import CallRecord

KOKORO = SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart")
OPTIONS = ClientOptions(api_key=TEST_API_KEY, base_url="http://api.test", retry=RetryPolicy(max_attempts=1))
INFO = CallInfo(1, 0.0, None, 200, 0.0, 0.0, "multipart")


def speech(text: str = "Hello there.", opts: SpeechOptions = KOKORO) -> SpeechRequest:
    return SpeechRequest(text, opts, timeout_s=60.0)


def stt(audio_seconds: float | None = 3.0, **opts: object) -> TranscriptionRequest:
    return TranscriptionRequest("transcribe", b"RIFF", "a.wav", TranscriptionOptions(**opts), audio_seconds, 60.0)  # type: ignore[arg-type]


def test_the_script_answers_in_order_then_the_responder() -> None:
    fake = FakeTransport(error_reply(503), pcm_reply(0.5))
    fake.script(Reply(body=b"third"))

    async def go() -> list[object]:
        out: list[object] = []
        for _ in range(4):
            try:
                out.append(await fake.speak(speech()))
            except SpeechAPIError as exc:
                out.append(exc)
        return out

    first, second, third, fourth = asyncio.run(go())
    assert isinstance(first, SpeechAPIError) and getattr(first, "status", None) == 503
    assert len(second.body) == 2 * 12000  # type: ignore[attr-defined]
    assert third.body == b"third"  # type: ignore[attr-defined]
    assert len(fourth.body) == 2 * round(len("Hello there.") / FAKE_CHARS_PER_S * 24000)  # type: ignore[attr-defined]
    assert fake.outcomes() == [503, 200, 200, 200] and fake.scripted == 0


def test_every_request_is_recorded_with_its_clock_and_kind() -> None:
    now = [10.0]
    fake = FakeTransport(clock=lambda: now[0])

    async def go() -> None:
        await fake.speak(speech("Hi.", SpeechOptions(model="m", voice="v", transport="sse")))
        now[0] = 12.5
        await fake.transcribe(stt())
        await fake.voices("hexgrad/Kokoro-82M")
        await fake.aclose()

    asyncio.run(go())
    got = [(r.seq, r.at, r.kind, r.transport, r.model, r.text) for r in fake.received]
    assert got == [
        (0, 10.0, "speech", "sse", "m", "Hi."),
        (1, 12.5, "transcriptions", "multipart", "openai/whisper-large-v3", None),
        (2, 12.5, "voices", "rest", "hexgrad/Kokoro-82M", None),
    ]
    assert isinstance(fake.received[1].request, TranscriptionRequest) and fake.closed


def test_answers_get_a_request_id_unless_they_carry_one() -> None:
    fake = FakeTransport(pcm_reply(0.1), pcm_reply(0.1, headers={"x-request-id": "req-9"}), error_reply(429))

    async def go() -> list[str | None]:
        ids = [(await fake.speak(speech())).headers.get("x-request-id") for _ in range(2)]
        with pytest.raises(RateLimitError) as info:
            await fake.speak(speech())
        return [*ids, info.value.request_id]

    assert asyncio.run(go()) == ["fake-0", "req-9", "fake-2"]


def test_an_error_reply_is_the_taxonomys_error_with_the_servers_words() -> None:
    fake = FakeTransport(
        error_reply(429, "slow down", retry_after_s=2, code="rate", headers={"x-ratelimit-remaining": "0"})
    )
    with pytest.raises(RateLimitError) as info:
        asyncio.run(fake.speak(speech()))
    error = info.value
    assert error.message == "slow down" and error.code == "rate" and error.retryable
    assert error.headers["retry-after"] == "2" and error.headers["x-ratelimit-remaining"] == "0"


# The httpx failure each fault stands for, as the real transport would meet it.
WIRE_EQUIVALENT: dict[Fault, Callable[[httpx.Request], httpx.TransportError]] = {
    "refused": lambda r: httpx.ConnectError("[Errno 111] Connection refused", request=r),
    "dropped": lambda r: httpx.RemoteProtocolError("Server disconnected without sending a response.", request=r),
    "connect_timeout": lambda r: httpx.ConnectTimeout("timed out", request=r),
    "read_timeout": lambda r: httpx.ReadTimeout("timed out", request=r),
    "cut": lambda r: httpx.RemoteProtocolError("peer closed connection without sending complete body", request=r),
}


@pytest.mark.parametrize("fault", list(WIRE_EQUIVALENT))
def test_a_fault_is_the_error_the_wire_would_raise(fault: Fault) -> None:
    wire = from_transport_error(WIRE_EQUIVALENT[fault](httpx.Request("POST", "http://api.test/v1/audio/speech")))
    with pytest.raises(SpeechAPIError) as info:
        asyncio.run(FakeTransport(Reply(fault=fault)).speak(speech()))
    fake = info.value
    assert type(fake) is type(wire) and fake.retryable == wire.retryable
    assert outcome_unknown(fake) == outcome_unknown(wire)  # possibly billed exactly when the wire's would be
    assert isinstance(fake, {"cut": StreamTruncatedError}.get(fault, APIConnectionError))
    assert isinstance(fake, APITimeoutError) == fault.endswith("timeout")


def test_a_hang_ends_only_by_the_clients_timeout_or_a_cancellation() -> None:
    arrived = asyncio.Event()
    fake = FakeTransport(Reply(fault="hang"), on_request=lambda _: arrived.set())

    async def go() -> bool:
        call = asyncio.create_task(fake.speak(speech()))
        await arrived.wait()
        for _ in range(10):
            await asyncio.sleep(0)
        waiting = not call.done()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        return waiting

    assert asyncio.run(go())


def test_the_fake_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    real_sleep, loops = asyncio.sleep, []

    async def no_sleeping(delay: float, *args: Any) -> Any:
        if asyncio.get_running_loop() not in loops:  # another thread's loop (a session server's) sleeps as ever
            return await real_sleep(delay, *args)
        raise AssertionError("the fake slept")

    fake = FakeTransport(error_reply(500), pcm_reply(0.2), Reply(fault="cut"))

    async def go() -> None:
        loops.append(asyncio.get_running_loop())
        monkeypatch.setattr(asyncio, "sleep", no_sleeping)
        for _ in range(3):
            try:
                await fake.speak(speech())
            except SpeechAPIError:
                pass
        await fake.transcribe(stt())
        await fake.voices(None)

    asyncio.run(go())
    assert fake.outcomes() == [500, 200, "cut", 200, 200]


def test_the_same_script_gives_the_same_bytes() -> None:
    def one_run() -> list[bytes]:
        fake = FakeTransport()

        async def go() -> list[bytes]:
            speech_options = SpeechOptions(model="cartesia/sonic-2", voice="x", transport="sse", word_timestamps=True)
            out = [(await fake.speak(speech("Some words to say.", speech_options))).body]
            out.append((await fake.transcribe(stt(diarize=True, timestamp_granularities=("segment", "word")))).body)
            return out

        return asyncio.run(go())

    assert one_run() == one_run()


# --- the answers it builds --------------------------------------------------------------------------------------


def test_speech_through_the_client_lasts_what_was_asked_at_the_models_rate() -> None:
    fake = FakeTransport(
        pcm_reply(1.5),
        pcm_reply(0.5, sample_rate_hz=16000, encoding="pcm_f32le"),
        wav_reply(0.25, sample_rate_hz=22050),
    )

    sonic_16k_f32 = SpeechOptions("cartesia/sonic-2", "x", sample_rate_hz=16000, encoding="pcm_f32le")

    async def go() -> list[object]:
        async with SpeechClient(OPTIONS, transport=fake) as client:
            return [
                await client.speak("One.", KOKORO),
                await client.speak("Two.", sonic_16k_f32),
                await client.speak("Three.", SpeechOptions(model="hexgrad/Kokoro-82M", voice="x", audio_format="wav")),
            ]

    kokoro, f32, wav = asyncio.run(go())
    assert kokoro.duration_s == pytest.approx(1.5) and f32.duration_s == pytest.approx(0.5)  # type: ignore[attr-defined]
    samples, rate = from_wav(wav.audio)  # type: ignore[attr-defined]
    assert rate == 22050 and len(samples) == round(0.25 * 22050) and samples.any()


def test_plausible_speech_follows_the_request() -> None:
    def received(request: SpeechRequest) -> Received:
        return Received(0, 0.0, "speech", request.options.transport, request.options.model, request)

    orpheus = SpeechOptions("canopylabs/orpheus-3b-0.1-ft", "tara", "websocket", word_timestamps=True)
    streamed = plausible_reply(received(speech("Two words.", orpheus)))
    assert [w.word for w in streamed.words] == ["Two", "words"]
    assert streamed.words[-1].end_s == pytest.approx(10 / FAKE_CHARS_PER_S, abs=1e-3)
    assert len(streamed.body) == 2 * round(10 / FAKE_CHARS_PER_S * 24000)
    assert plausible_reply(received(speech("Two words."))).words == ()  # REST carries no word timings
    mp3 = SpeechOptions("hexgrad/Kokoro-82M", "af_heart", audio_format="mp3")
    refused = plausible_reply(received(speech("x", mp3)))
    assert refused.status == 400 and b"audio_format" in refused.body


def test_plausible_transcripts_fill_the_audio_and_parse() -> None:
    fake = FakeTransport()

    async def go() -> list[bytes]:
        diarized = stt(11.0, diarize=True, timestamp_granularities=("segment", "word"))
        plain = stt(None, response_format="json")
        return [(await fake.transcribe(diarized)).body, (await fake.transcribe(plain)).body]

    diarized_body, plain_body = asyncio.run(go())
    diarized = parse_transcript(json.loads(diarized_body), "whisper", INFO)
    assert diarized.duration_s == 11.0 and diarized.segments[0].end_s == 11.0 and diarized.words
    assert diarized.words[-1].end_s == pytest.approx(11.0) and diarized.words[0].speaker_id == "SPEAKER_00"
    assert diarized.speaker_segments and diarized.speaker_segments[0].words
    plain = parse_transcript(json.loads(plain_body), "whisper", INFO)
    assert plain.text == diarized.text and plain.duration_s is None and plain.words == ()


def test_a_scripted_transcript_keeps_the_words_and_segments_given() -> None:
    words = [WordTime("ask", 0.5, 0.9), WordTime("not", 1.0, 1.3)]
    reply = transcript_reply("ask not", 2.0, words=words, segments=[(0.4, 1.4, "ask not")], task="translate")
    transcript = parse_transcript(json.loads(reply.body), "whisper", INFO)
    assert transcript.words == tuple(words) and transcript.task == "translate"
    assert [(s.start_s, s.end_s, s.text) for s in transcript.segments] == [(0.4, 1.4, "ask not")]


def test_a_call_that_times_out_on_the_fake_is_on_the_books_as_on_the_wire() -> None:
    sent: list[CallRecord] = []
    outcomes: list[CallRecord] = []
    seen_before_request: list[int] = []
    fake = FakeTransport(
        Reply(fault="read_timeout"),
        Reply(fault="connect_timeout"),
        pcm_reply(0.1),
        on_request=lambda _: seen_before_request.append(len(sent)),
    )

    async def no_sleep(_: float) -> None:
        return None

    async def go() -> None:
        options = ClientOptions(api_key=TEST_API_KEY, base_url="http://api.test", retry=RetryPolicy(max_attempts=3))
        async with SpeechClient(
            options, transport=fake, ledger=outcomes.append, intents=sent.append, sleep=no_sleep
        ) as client:
            await client.speak("Paid once, maybe twice.", KOKORO, context=CallContext("book", 1))

    asyncio.run(go())
    assert seen_before_request == [1, 1, 1]  # the write-ahead record came before the first request
    (outcome,) = outcomes
    assert outcome.status == "ok" and outcome.attempts == 3
    assert outcome.possibly_billed_attempts == 1  # the read timeout; the connect timeout never sent it
