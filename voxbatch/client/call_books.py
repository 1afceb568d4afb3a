"""How one call reaches the books: its write-ahead "sent" record before it goes out, its answer made durable
the moment it arrives, and its outcome record. A paid answer is never lost to a ledger or cache that fails; a call
the ledger cannot learn of is not sent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from voxbatch.client.errors import LedgerUnavailableError
from voxbatch.client.records import CallFacts
from voxbatch.client.results import CallInfo
from voxbatch.ledger.record import CallRecord

logger = logging.getLogger("voxbatch.client.client")  # the client's own log: where users look for its calls

R = TypeVar("R")
LedgerSink = Callable[[CallRecord], None]
IntentSink = Callable[[CallRecord], None]  # takes a call's write-ahead "sent" record; durable when it returns


@dataclass
class Flight:
    """What one call has done so far, as its attempts see it."""

    record_id: str
    sent: bool = False  # its write-ahead record is written and its first attempt began
    active: bool = False  # an attempt is on the wire now
    answered: bool = False  # a complete answer arrived
    unknown_attempts: int = 0  # attempts that timed out or broke off after the request went out
    done: tuple[object, CallFacts, CallInfo] | None = None  # the result, its facts and info


class AbandonedCall(Exception):
    """Why a call ended without an outcome of its own (cancelled, or its answer could not be read)."""


def write_intent(intents: IntentSink | None, rec: CallRecord) -> None:
    """The write-ahead record of a call; a call the ledger cannot learn of is not sent."""
    if intents is None:
        return
    try:
        intents(rec)
    except Exception as exc:
        raise LedgerUnavailableError(
            f"the ledger could not record the {rec.endpoint} call before sending it, so it was not sent: {exc}"
        ) from exc


def keep_answer(keep: Callable[[R], None], result: R, what: str) -> None:
    """Make an answer durable; a failure is logged (the answer is still returned) and never costs the call."""
    try:
        keep(result)
    except Exception as exc:
        logger.error("%s: the answer could not be saved (a re-run would pay for it again): %s", what, exc)


def write_record(ledger: LedgerSink | None, rec: CallRecord) -> None:
    """Hand the record to the ledger; a ledger that cannot take it never costs the caller a paid answer."""
    if ledger is None:
        return
    try:
        ledger(rec)
    except Exception as exc:
        logger.error("ledger record of %s call for item %s not written: %s", rec.endpoint, rec.item_id, exc)
