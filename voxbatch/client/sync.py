"""A blocking face for scripts: the async client on a private event loop in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from voxbatch.client.client import CallContext, SpeechClient, SpeechOptions, TranscriptionOptions
from voxbatch.client.results import ListedModel, SpeechResult, Transcript

T = TypeVar("T")


class SyncSpeechClient:
    """Same calls as :class:`SpeechClient`, blocking; safe to call from several threads.

    Example::

        with SyncSpeechClient(ClientOptions.from_env()) as client:
            client.speak("Hello.", SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart"))
    """

    def __init__(self, options: Any, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="voxbatch-client", daemon=True)
        self._thread.start()
        self._client: SpeechClient = self._run(self._make(options, kwargs))

    @staticmethod
    async def _make(options: Any, kwargs: dict[str, Any]) -> SpeechClient:
        return SpeechClient(options, **kwargs)  # built on the loop that will use it

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def client(self) -> SpeechClient:
        return self._client

    def speak(self, text: str, opts: SpeechOptions, *, context: CallContext | None = None) -> SpeechResult:
        return self._run(self._client.speak(text, opts, context=context))

    def transcribe(
        self, audio: bytes | Path, opts: TranscriptionOptions | None = None, *, context: CallContext | None = None
    ) -> Transcript:
        return self._run(self._client.transcribe(audio, opts, context=context))

    def translate(
        self, audio: bytes | Path, opts: TranscriptionOptions | None = None, *, context: CallContext | None = None
    ) -> Transcript:
        return self._run(self._client.translate(audio, opts, context=context))

    def voices(self, model: str | None = None) -> dict[str, list[str]]:
        return self._run(self._client.voices(model))

    def models(self) -> tuple[ListedModel, ...]:
        return self._run(self._client.models())

    def close(self) -> None:
        if self._loop.is_running():
            self._run(self._client.aclose())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> SyncSpeechClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
