"""What a call leaves behind at every instant, over ``httpx.MockTransport``: the write-ahead record before the
request, the answer kept before anything else, one outcome record that settles it, timeouts counted as possibly
billed (in the record and in the budget), and a cancelled call still on the books."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.voxbatch.client.conftest import mock_wire
from voxbatch.client.call_options import CallContext, SpeechOptions
from voxbatch.client.client import SpeechClient
from voxbatch.client.errors import APITimeoutError, LedgerUnavailableError
from voxbatch.client.options import ClientOptions
from voxbatch.client.results import SpeechResult
from voxbatch.client.retry import RetryPolicy
from voxbatch.client.timeouts import CallTimeouts
from voxbatch.ledger.record import CallRecord
from voxbatch.run.budget import Budget

KOKORO = SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart", audio_format="pcm")
TEXT = "Four hundred characters would be a real chunk; this one is shorter."
PRICE_USD = len(TEXT) * 4 / 1e6
PCM = b"\x00\x01" * 2400
RETRY = RetryPolicy(max_attempts=3, backoff_base_s=0.0, backoff_cap_s=0.0)

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Books:
    """What the client told its ledger, in order, and what else happened in between."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.sent: list[CallRecord] = []
        self.outcomes: list[CallRecord] = []

    def intend(self, rec: CallRecord) -> None:
        self.events.append("sent")
        self.sent.append(rec)

    def append(self, rec: CallRecord) -> None:
        self.events.append("outcome")
        self.outcomes.append(rec)


def client_for(handler: Handler, books: Books, *, retry: RetryPolicy = RETRY, **options: object) -> SpeechClient:
    async def no_sleep(_: float) -> None:
        return None

    opts = ClientOptions(api_key="sk-test-SECRET", base_url="http://api.test", retry=retry, **options)  # type: ignore[arg-type]
    return SpeechClient(
        opts,
        transport=mock_wire(opts, handler),
        ledger=books.append,
        intents=books.intend,
        sleep=no_sleep,
    )


def test_the_call_is_on_the_books_before_it_is_sent_and_kept_before_it_is_settled() -> None:
    books = Books()

    async def handler(request: httpx.Request) -> httpx.Response:
        assert [r.status for r in books.sent] == ["unknown"]  # the ledger knew of the call before it went out
        books.events.append("request")
        return httpx.Response(200, content=PCM)

    def keep(result: SpeechResult) -> None:
        books.events.append("keep")

    async def main() -> SpeechResult:
        async with client_for(handler, books) as client:
            return await client.speak(TEXT, KOKORO, context=CallContext("book", 3), keep=keep)

    result = asyncio.run(main())
    assert result.audio == PCM
    assert books.events == ["sent", "request", "keep", "outcome"]
    (intent,), (outcome,) = books.sent, books.outcomes
    assert intent.record_id is not None and outcome.record_id == intent.record_id
    assert (intent.possibly_billed_attempts, intent.possibly_billed_usd) == (1, pytest.approx(PRICE_USD))
    assert (intent.item_id, intent.chunk_index, intent.input_chars) == ("book", 3, len(TEXT))
    assert outcome.status == "ok" and outcome.cost_usd == pytest.approx(PRICE_USD)
    assert outcome.possibly_billed_attempts == 0 and outcome.possibly_billed_usd == 0.0


def test_a_keep_that_fails_costs_nothing_but_its_log_line() -> None:
    books = Books()

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=PCM)

    def keep(result: SpeechResult) -> None:
        raise OSError("disk full")

    async def main() -> SpeechResult:
        async with client_for(handler, books) as client:
            return await client.speak(TEXT, KOKORO, keep=keep)

    assert asyncio.run(main()).audio == PCM
    assert [r.status for r in books.outcomes] == ["ok"]


def test_read_timeouts_are_possibly_billed_in_the_record_and_the_budget() -> None:
    books = Books()

    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    async def main() -> None:
        async with client_for(handler, books) as client:
            await client.speak(TEXT, KOKORO, context=CallContext("book", 0))

    with pytest.raises(APITimeoutError):
        asyncio.run(main())
    (outcome,) = books.outcomes
    assert outcome.status == "failed" and outcome.attempts == 3 and outcome.cost_usd == 0.0
    assert outcome.possibly_billed_attempts == 3
    assert outcome.possibly_billed_usd == pytest.approx(3 * PRICE_USD)

    budget = Budget(1.0)
    budget.admit("book", PRICE_USD)
    budget.observe(outcome)
    budget.release("book")  # the item ended: its reservation goes, what it may have cost stays spent
    assert budget.spent_usd == pytest.approx(3 * PRICE_USD) and budget.reserved_usd == 0.0


def test_a_timeout_then_an_answer_counts_the_answer_and_the_timeout() -> None:
    books = Books()
    timeouts = iter([True, False])

    async def handler(request: httpx.Request) -> httpx.Response:
        if next(timeouts):
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(200, content=PCM)

    async def main() -> None:
        async with client_for(handler, books) as client:
            await client.speak(TEXT, KOKORO)

    asyncio.run(main())
    (outcome,) = books.outcomes
    assert outcome.status == "ok" and outcome.attempts == 2 and outcome.cost_usd == pytest.approx(PRICE_USD)
    assert outcome.possibly_billed_attempts == 1 and outcome.possibly_billed_usd == pytest.approx(PRICE_USD)
    assert len(books.sent) == 1  # one write-ahead record per call, not per attempt


def test_a_connect_timeout_never_sent_the_request_so_it_is_free() -> None:
    books = Books()

    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no connection", request=request)

    async def main() -> None:
        async with client_for(handler, books) as client:
            await client.speak(TEXT, KOKORO)

    with pytest.raises(APITimeoutError):
        asyncio.run(main())
    (outcome,) = books.outcomes
    assert outcome.possibly_billed_attempts == 0 and outcome.possibly_billed_usd == 0.0


def test_the_total_timeout_of_an_attempt_is_possibly_billed() -> None:
    books = Books()

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # never answers; the client's total timeout ends the attempt
        raise AssertionError("unreachable")

    async def main() -> None:
        async with client_for(
            handler, books, retry=RetryPolicy(max_attempts=1), timeouts=CallTimeouts(override_s=0.01)
        ) as client:
            await client.speak(TEXT, KOKORO)

    with pytest.raises(APITimeoutError):
        asyncio.run(main())
    assert [(r.status, r.possibly_billed_attempts) for r in books.outcomes] == [("failed", 1)]


def test_a_call_cancelled_in_flight_is_settled_as_possibly_billed() -> None:
    books = Books()
    on_the_wire = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        on_the_wire.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def main() -> None:
        async with client_for(handler, books) as client:
            call = asyncio.create_task(client.speak(TEXT, KOKORO))
            await on_the_wire.wait()
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call

    asyncio.run(main())
    (outcome,) = books.outcomes
    assert outcome.record_id == books.sent[0].record_id
    assert outcome.status == "failed" and "CancelledError" in str(outcome.error)
    assert outcome.possibly_billed_attempts == 1 and outcome.possibly_billed_usd == pytest.approx(PRICE_USD)


def test_a_call_the_ledger_cannot_record_is_not_sent() -> None:
    books = Books()
    requests: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=PCM)

    def broken(rec: CallRecord) -> None:
        raise OSError("read-only file system")

    async def main() -> None:
        async with client_for(handler, books) as client:
            client.intents = broken
            await client.speak(TEXT, KOKORO)

    with pytest.raises(LedgerUnavailableError, match="not sent"):
        asyncio.run(main())
    assert requests == []
    assert [(r.status, r.possibly_billed_attempts) for r in books.outcomes] == [("failed", 0)]


def test_a_free_endpoint_is_journaled_but_never_possibly_billed() -> None:
    books = Books()

    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    async def main() -> None:
        async with client_for(handler, books) as client:
            await client.voices()

    with pytest.raises(APITimeoutError):
        asyncio.run(main())
    assert [(r.endpoint, r.status, r.possibly_billed_attempts) for r in books.sent] == [("voices", "unknown", 0)]
    assert [(r.status, r.possibly_billed_attempts) for r in books.outcomes] == [("failed", 0)]
