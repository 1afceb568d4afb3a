"""A fake provider that reads and hears texts: speech lasts as its text predicts (or is cut short, as scripted),
and a transcription of an answer it gave hears exactly the words that answer kept."""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from collections.abc import Iterable

from voxbatch.audio import pcm
from voxbatch.client.fake_transport import (
    FAKE_CHARS_PER_S,
    FakeTransport,
    Received,
    Reply,
    error_reply,
    pcm_reply,
    spread_words,
    transcript_reply,
)
from voxbatch.client.transport import SpeechRequest, TranscriptionRequest


class ReadingFake:
    """``keeps`` scripts, per text, the share of its speech each answer keeps (then whole answers); a text in
    ``deaf`` is heard as nothing (a voice that mumbles); ``stt_fails`` makes every transcription fail."""

    def __init__(self, keeps: dict[str, Iterable[float]] | None = None, deaf: Iterable[str] = ()) -> None:
        self.keeps: dict[str, deque[float]] = defaultdict(deque)
        for text, shares in (keeps or {}).items():
            self.keeps[text].extend(shares)
        self.deaf = set(deaf)
        self.stt_fails = False
        self.answers: dict[str, tuple[str, float]] = {}  # sha of the audio -> (text, share kept)
        self.transport = FakeTransport(respond=self.respond)

    def respond(self, received: Received) -> Reply:
        request = received.request
        if isinstance(request, SpeechRequest):
            keep = self.keeps[request.text].popleft() if self.keeps[request.text] else 1.0
            reply = pcm_reply(keep * len(request.text) / FAKE_CHARS_PER_S)
            self.answers[hashlib.sha256(reply.body).hexdigest()] = (request.text, keep)
            return reply
        assert isinstance(request, TranscriptionRequest)
        if self.stt_fails:
            return error_reply(400, "cannot hear this")
        samples, _ = pcm.from_wav(request.audio)
        text, keep = self.answers[hashlib.sha256(samples.tobytes()).hexdigest()]
        words = [] if text in self.deaf else text.split()[: int(len(text.split()) * keep)]
        duration_s = request.audio_seconds or 1.0
        return transcript_reply(" ".join(words), duration_s, words=spread_words(" ".join(words), duration_s))

    def speech_texts(self) -> list[str | None]:
        return [r.text for r in self.transport.received if r.kind == "speech"]

    def transcriptions(self) -> int:
        return sum(r.kind == "transcriptions" for r in self.transport.received)
