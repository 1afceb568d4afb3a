"""The run's stop: no new attempt after the first signal, started ones finish (bounded), others are released."""

from __future__ import annotations

import asyncio
import signal

import pytest

from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import NoLimit, RateLimits
from voxbatch.run.shutdown import RunStop, RunStopped, StopGate, exit_code, signal_name

HANG_GUARD_S = 30.0  # only a guard against a hang; nothing here waits for a clock


def test_exit_codes_and_names_follow_the_shell_convention() -> None:
    assert exit_code(signal.SIGINT) == 130 and exit_code(signal.SIGTERM) == 143
    assert signal_name(signal.SIGTERM) == "SIGTERM"


def test_grace_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="grace_s"):
        RunStop(grace_s=-1)


def test_requests_are_counted_and_the_first_signal_is_kept() -> None:
    stop = RunStop()
    assert not stop.requested
    stop.check()  # nothing asked: no error
    assert stop.request(signal.SIGTERM) == 1 and stop.request(signal.SIGINT) == 2
    assert stop.signum == signal.SIGTERM and stop.reason == "the run was stopped by SIGTERM"
    with pytest.raises(RunStopped, match="not sent: the run was stopped by SIGTERM"):
        stop.check()


def test_no_new_attempt_starts_once_stopping() -> None:
    async def scenario() -> None:
        stop = RunStop()
        gate = StopGate(NoLimit(), stop)
        async with gate.slot(10, "chars"):
            pass
        stop.request(signal.SIGINT)
        with pytest.raises(RunStopped, match="not sent"):
            async with gate.slot(10, "chars"):
                pytest.fail("an attempt started after the stop")

    asyncio.run(scenario())


def test_attempts_in_flight_finish_and_waiting_ones_are_released_at_once() -> None:
    async def scenario() -> None:
        stop = RunStop(grace_s=HANG_GUARD_S)
        limiter = AsyncRateLimiter(RateLimits(max_in_flight=1))
        gate = StopGate(limiter, stop)
        entered, answer = asyncio.Event(), asyncio.Event()
        sent: list[str] = []

        async def attempt(name: str, wait_for: asyncio.Event | None) -> str:
            async with gate.slot():
                sent.append(name)
                entered.set()
                if wait_for is not None:
                    await wait_for.wait()
            return name

        first = asyncio.create_task(attempt("first", answer))
        await entered.wait()
        second = asyncio.create_task(attempt("second", None))  # waits for the one slot
        await asyncio.sleep(0)
        assert stop.in_flight == 1
        stop.request(signal.SIGINT)
        with pytest.raises(RunStopped, match="not sent"):
            await asyncio.wait_for(second, HANG_GUARD_S)
        assert not first.done()  # the call in flight is not cut short
        answer.set()
        assert await asyncio.wait_for(first, HANG_GUARD_S) == "first"
        assert sent == ["first"] and limiter.in_flight == 0

    asyncio.run(scenario())


def test_attempts_still_in_flight_after_the_grace_period_are_cut_off() -> None:
    async def scenario() -> None:
        stop = RunStop(grace_s=0.0)
        limiter = AsyncRateLimiter(RateLimits(max_in_flight=2))
        gate = StopGate(limiter, stop)
        entered, never = asyncio.Event(), asyncio.Event()

        async def attempt() -> None:
            async with gate.slot():
                entered.set()
                await never.wait()

        task = asyncio.create_task(attempt())
        await entered.wait()
        stop.request(signal.SIGTERM)
        with pytest.raises(RunStopped, match="cut off after 0 s in flight: the run was stopped by SIGTERM"):
            await asyncio.wait_for(task, HANG_GUARD_S)
        assert limiter.in_flight == 0 and stop.in_flight == 0
        assert task.cancelling() == 0  # the cut is not left as a pending cancellation

    asyncio.run(scenario())


def test_other_cancellations_pass_through_unchanged() -> None:
    async def scenario() -> None:
        gate = StopGate(NoLimit(), RunStop())
        entered = asyncio.Event()

        async def attempt() -> None:
            async with gate.slot():
                entered.set()
                await asyncio.Event().wait()

        task = asyncio.create_task(attempt())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_the_gate_passes_answers_and_introspection_to_the_limiter() -> None:
    limiter = AsyncRateLimiter(RateLimits(requests_per_minute=600))
    gate = StopGate(limiter, RunStop())
    gate.observe(429, {})
    assert gate.current_rpm == limiter.current_rpm == 300


def test_abort_runs_every_hook_newest_first_even_when_one_fails() -> None:
    stop = RunStop()
    ran: list[str] = []
    stop.at_abort(lambda: ran.append("ledger a"))
    forget = stop.at_abort(lambda: ran.append("forgotten"))
    stop.at_abort(lambda: 1 / 0)
    stop.at_abort(lambda: ran.append("server"))
    forget()
    stop.abort()
    assert ran == ["server", "ledger a"]


def test_handlers_route_both_signals_and_can_be_armed_again() -> None:
    async def scenario() -> list[int]:
        loop = asyncio.get_running_loop()
        seen: list[int] = []
        stop = RunStop()
        stop.install(loop, seen.append)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as a library might (Prefect does, for a flow run)
        stop.rearm()
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
        deadline = loop.time() + HANG_GUARD_S
        while len(seen) < 2 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return seen

    assert asyncio.run(scenario()) == [signal.SIGTERM, signal.SIGINT]
