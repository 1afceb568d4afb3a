"""One ledger record: what a single API call (or, for flows, a whole item) cost and how long it took."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

RecordKind = Literal["call", "item"]
# "unknown": the call was sent (its write-ahead record is in the journal) but no outcome was ever recorded,
# because the process died or the call was abandoned while in flight: possibly billed.
# "flagged": an item record only, for an item made but not as asked (its error says what; the next run tries again)
CallStatus = Literal["ok", "failed", "cached", "skipped", "skipped_budget", "unknown", "stopped", "flagged"]


@dataclass(frozen=True)
class CallRecord:
    """A row of the ledger. Times are seconds; ``started_at`` is timezone-aware UTC."""

    run_id: str
    flow: str  # "audiobook", "transcripts", "script", ...
    item_id: str | None
    chunk_index: int | None
    provider: str  # "together", "openai", "local"
    endpoint: str  # "speech", "transcriptions", "translations", "voices", "models"
    model: str | None
    voice: str | None
    transport: str  # "rest", "sse", "websocket", "multipart", "cache"
    input_chars: int | None  # billed characters (speech)
    audio_seconds: float | None  # audio produced (speech) or billed (transcription)
    bytes: int | None  # bytes received (speech) or sent (transcription)
    attempts: int  # HTTP attempts made (0 for a cached result)
    retry_wait_s: float  # total time spent waiting between attempts
    http_status: int | None  # of the last attempt; None when no answer came back
    status: CallStatus
    error: str | None  # error class and message when "failed"; what was flagged when "flagged" (never the API key)
    request_id: str | None
    started_at: datetime
    ttfb_s: float | None  # request sent to first byte of the successful answer
    latency_s: float  # whole call, retries and waits included
    cost_usd: float | None  # None when the model's price is unknown (never 0 for "unknown")
    cached: bool
    kind: RecordKind = "call"
    chunks: int | None = None  # item records: how many chunk calls the item made (cached ones included)
    # Attempts whose outcome is unknown (timed out or cut off after the request went out, or in flight when the
    # run died): the provider may have billed them. Their estimated cost is possibly_billed_usd (None when the
    # price is unknown), never part of cost_usd.
    possibly_billed_attempts: int = 0
    possibly_billed_usd: float | None = None
    record_id: str | None = None  # unique per row; a call's write-ahead "sent" record and its outcome share it
    # None for a chunk's own call; a call the checks of its chunk made (voxbatch.audit): "repeat:short" (synthesized
    # again: the audio was far shorter than its text), "repeat:unheard" (again: the audit heard too little of it),
    # "audit" (the audit hearing the chunk). Repeats are paid like any call.
    purpose: str | None = None
