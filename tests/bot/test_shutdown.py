"""A stop that hangs says where, and ends the process (bot/shutdown.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

STUCK = textwrap.dedent("""
    import asyncio, logging, sys
    sys.path.insert(0, {root!r})
    from bot.logs import setup_logging
    from bot.shutdown import StopWatch

    class Worker:
        async def stop(self):
            await self.finish_round()

        async def finish_round(self):
            await asyncio.Event().wait()  # a round that never ends

    async def main():
        setup_logging("INFO", "text")
        watch = StopWatch(0.2, 1.0)
        watch.start()
        await asyncio.get_running_loop().create_task(Worker().stop(), name="inbox-worker")
        watch.stopped()

    asyncio.run(main())
    print("unreachable")
""")


def test_a_stop_that_hangs_names_what_it_waits_on_then_ends_the_process():
    proc = subprocess.run([sys.executable, "-c", STUCK.format(root=str(ROOT))],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "unreachable" not in proc.stdout
    warning = next(line for line in proc.stderr.splitlines() if "shutdown still waiting" in line)
    # the operator reads which task and which await: the worker's round, not just "a future"
    assert "inbox-worker: stop" in warning and "finish_round" in warning, warning
    assert "work not finished stays queued" in warning
    # then every thread's stack, from the fault handler, as the process ends itself
    assert "Timeout (0:00:01)!" in proc.stderr and "Thread" in proc.stderr


async def test_a_stop_that_ends_in_time_leaves_no_watch_running():
    from bot.shutdown import StopWatch, pending_tasks

    import faulthandler

    watch = StopWatch(30, 60)
    watch.start()
    try:
        assert any(t.startswith("stop-watch: _report") for t in pending_tasks())
        watch.stopped()
        await asyncio.sleep(0)  # let the cancellation land (no time passes)
        assert not any(t.startswith("stop-watch") for t in pending_tasks())
    finally:
        faulthandler.cancel_dump_traceback_later()  # the test process goes on; a bot exits
