"""A stop that ends within a bound, and says what it waited on when it is slow.

On SIGTERM the bot finishes the round in hand and closes (``BotRuntime.stop``). Everything it
has not finished is durable (the inbox, the outbox, the timers), so a stop may be cut short
without losing work; but a process manager that has to SIGKILL a silent process teaches the
operator nothing. So: ``report_after`` seconds into a stop the log names every task still
running and the chain of awaits it is in; ``give_up_after`` seconds in, the interpreter's
fault handler prints every thread's stack and the process exits with status 1 (it works
whatever the event loop is doing, even blocked, or waiting for threads at exit).
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import sys
from types import CoroutineType, GeneratorType
from typing import Any

log = logging.getLogger("bot.shutdown")


def await_chain(task: asyncio.Task[Any]) -> str:
    """Where ``task`` waits: its coroutine and each one it awaits, outermost first."""
    parts = []
    obj: Any = task.get_coro()
    while obj is not None:
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
        if frame is not None:
            where = "/".join(frame.f_code.co_filename.split("/")[-2:])
            parts.append(f"{frame.f_code.co_name} ({where}:{frame.f_lineno})")
        if isinstance(obj, CoroutineType):
            obj = obj.cr_await
        elif isinstance(obj, GeneratorType):
            obj = obj.gi_yieldfrom
        else:  # a future, or an awaitable implemented in C: the end of what can be seen
            if obj is not task.get_coro():
                parts.append(type(obj).__name__)
            obj = None
    return " → ".join(parts) or repr(task)


def pending_tasks() -> list[str]:
    """Every other task of the running loop, by name, with where it waits."""
    me = asyncio.current_task()
    return sorted(f"{t.get_name()}: {await_chain(t)}" for t in asyncio.all_tasks()
                  if t is not me and not t.done())


class StopWatch:
    """Started when a stop begins; ``report_after`` and ``give_up_after`` are seconds."""

    def __init__(self, report_after: float, give_up_after: float) -> None:
        self.report_after = report_after
        self.give_up_after = give_up_after
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # A thread inside the interpreter: it fires even if the loop never gets control again.
        faulthandler.dump_traceback_later(self.give_up_after, exit=True, file=sys.stderr)
        self._task = asyncio.get_running_loop().create_task(self._report(), name="stop-watch")

    async def _report(self) -> None:
        waited = 0.0
        while True:
            await asyncio.sleep(self.report_after)
            waited += self.report_after
            log.warning("shutdown still waiting after %.0f s (it ends the process at %.0f s, "
                        "work not finished stays queued): %s", waited, self.give_up_after,
                        "; ".join(pending_tasks()) or "no task (threads or interpreter exit)")

    def stopped(self) -> None:
        """The bot's parts are closed; the fault handler stays armed until the process ends."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
