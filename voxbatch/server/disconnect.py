"""Stopping work whose caller has left: a decode or synthesis runs only while its client is connected.

A client that times out closes its connection; without this, the server would decode on for nobody
(minutes for a long recording), and a retry would start a second full decode beside the first.
:func:`unless_caller_leaves` runs the work beside a watcher of the request's ``receive`` channel (after
the body, the server's next message is ``http.disconnect``: it arrives when the client closes, no
polling) and sets the work's ``cancel`` event when the caller goes. The work must stop at its next
check of that event; the server's stats count it as ``cancelled`` and the request as a 499.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request
from starlette.types import Receive

from voxbatch.server.errors import ApiError
from voxbatch.server.stats import ServerStats

T = TypeVar("T")
CLIENT_CLOSED_STATUS = 499  # nginx's "client closed request": never seen by the client, only counted


def caller_left() -> ApiError:
    """The answer recorded for a request whose caller left (nobody receives it)."""
    return ApiError(
        CLIENT_CLOSED_STATUS,
        "the client closed the connection; the work was stopped",
        type="client_closed_request",
        code="client_closed_request",
    )


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass  # body parts already consumed elsewhere would arrive here; only the disconnect matters


async def unless_caller_leaves(
    request: Request,
    stats: ServerStats,
    work: Callable[[threading.Event], Awaitable[T]],
    stopped: tuple[type[BaseException], ...],
) -> T:
    """Run ``work(cancel)``; if the client disconnects first, set ``cancel`` and raise a 499 once it stopped.

    ``stopped`` are the exceptions ``work`` raises when it obeyed ``cancel``. The work is counted in
    ``stats`` as in progress while it runs, and as cancelled when it was stopped part way.
    """
    path = request.url.path
    cancel = threading.Event()
    stats.work_started(path)
    cancelled = False
    task = asyncio.ensure_future(work(cancel))
    watcher = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            cancel.set()
            stats.stop_asked(path)
        try:
            return await task  # after a cancel: returns once the work has really stopped
        except stopped as exc:
            cancelled = True
            raise caller_left() from exc
    finally:
        watcher.cancel()
        if task.done():
            stats.work_ended(path, cancelled=cancelled)
        else:  # this handler itself was cancelled (server shutdown): stop the work too, count it when it ends
            cancel.set()

            def ended(t: asyncio.Future[T]) -> None:
                stats.work_ended(path, cancelled=not t.cancelled() and isinstance(t.exception(), stopped))

            task.add_done_callback(ended)
