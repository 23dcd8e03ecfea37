"""The upgrade procedure of docs/deployment.md with real processes on PostgreSQL: WeCom keeps
writing while the worker is stopped (its upgrade), ``main.py migrate`` runs (under the advisory
lock, beside the live ingest processes), the ingest processes are restarted one at a time behind
nginx or Caddy and the new worker starts. Every callback is acked on its first delivery, and every message
is answered exactly once.

What this machine cannot show: two different versions of the code. Both "old" and "new"
processes run this checkout, so the migration step applies nothing new here; that old code keeps
working on the migrated schema rests on migrations being additive (docs/deployment.md)."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from bot.sandbox.server import Sandbox
from tests.deploy.test_reverse_proxies import (CADDY, DEPLOY, NGINX, caddy_env, stop,
                                               wait_listening, write_upstream)
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, _truncate_pg
from tests.procs import (MAIN, bot_env, free_port, spawn_bot, start_bot, start_worker, stop_all,
                         wait_healthy)


async def test_worker_upgrade_and_migration_while_ingest_keeps_acking(pg_database, tmp_path):
    _truncate_pg(pg_database)
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY)
    sb_url = await sandbox.start()
    port = free_port()
    sandbox.bot_url = f"http://127.0.0.1:{port}"
    procs = []
    quiet = {"DOCTOR_AT_START": "false"}
    try:
        procs.append(await start_bot(pg_database, sb_url, port, tmp_path, RUN_WORKER="false",
                                     **quiet))
        worker = await start_worker(pg_database, sb_url, tmp_path, **quiet)
        procs.append(worker)
        users = [f"user{i}" for i in range(5)]
        texts = [f"第{i}号门店的咖啡机坏了" for i in range(30)]
        records = []

        async def wecom_writes(part: list[str], offset: int) -> None:
            for i, text in enumerate(part, offset):
                records.append(await sandbox.member_says(users[i % 5], text))
                await asyncio.sleep(0.02)  # WeCom's pace

        await wecom_writes(texts[:10], 0)
        await sandbox.wait_for_lines("app:user0", 1, timeout=30)  # the old worker works
        # 1. stop the worker (systemctl stop wecom-bot-worker; install the new code) …
        worker.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(worker.communicate(), 30)
        assert worker.returncode == 0 and b"bot stopped cleanly" in err
        # 2. … apply the new migrations while WeCom writes and the ingest process acks …
        writing = asyncio.create_task(wecom_writes(texts[10:], 10))
        migrate = await asyncio.create_subprocess_exec(
            sys.executable, MAIN, "migrate", cwd=tmp_path,
            env=bot_env(pg_database, sb_url, 0), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(migrate.communicate(), 60)
        assert migrate.returncode == 0, err.decode()
        await writing  # 20 messages acked with no worker running
        assert len(records) == 30 and all(r["attempts"] == [200] for r in records)
        # 3. … and start the new worker, which finds what was acked meanwhile.
        procs.append(await start_worker(pg_database, sb_url, tmp_path, **quiet))
        for user in users:
            await sandbox.wait_for_lines(f"app:{user}", 6, timeout=60)
        answered = [ln.content for u in users for ln in sandbox.delivered(f"app:{u}")]
        assert len(answered) == 30
        for text in texts:
            assert sum(text in a for a in answered) == 1, text
    finally:
        await stop_all(procs, None, sandbox)


async def start_proxy(kind: str, folder, ports: list[str]):
    """The shipped nginx or Caddy files in front of the two ingest ports, on plain HTTP (TLS is
    test_reverse_proxies.py's). Returns (process, port)."""
    front = free_port()
    if kind == "nginx":
        write_upstream(folder, *ports)
        (folder / "locations.conf").write_text(
            (DEPLOY / "nginx" / "wecom-bot-locations.conf").read_text())
        temp = " ".join(f"{k}_temp_path {folder}/{k};" for k in
                        ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (folder / "nginx.conf").write_text(
            f"pid {folder}/nginx.pid; error_log {folder}/error.log;\n"
            f"events {{ worker_connections 256; }}\n"
            f"http {{ access_log off; {temp} include {folder}/upstream.conf;\n"
            f"  server {{ listen 127.0.0.1:{front}; include {folder}/locations.conf; }} }}\n")
        proc = await asyncio.create_subprocess_exec(
            NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"),
            "-g", "daemon off; master_process off;", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
    else:
        (folder / "Caddyfile").write_text(
            f"{{\n    admin off\n    auto_https off\n}}\nhttp://127.0.0.1:{front} {{\n"
            f"    bind 127.0.0.1\n    import {DEPLOY / 'caddy' / 'wecom-bot-routes.caddy'}\n}}\n")
        env = caddy_env(folder, BOT_UPSTREAM=f"127.0.0.1:{ports[0]}",
                        BOT_UPSTREAM2=f"127.0.0.1:{ports[1]}")
        proc = await asyncio.create_subprocess_exec(
            CADDY, "run", "--adapter", "caddyfile", "--config", str(folder / "Caddyfile"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=folder)
    await wait_listening(front, proc)
    return proc, front


@pytest.mark.parametrize("kind", [
    "nginx", "caddy",  # installed by test_reverse_proxies (never skipped)
])
async def test_rolling_upgrade_behind_the_proxy_loses_no_ack(pg_database, tmp_path, kind):
    """docs/deployment.md, Upgrades, as written: two ingest processes behind the shipped nginx
    (or Caddy) files, a worker; while WeCom keeps writing, the worker stops, ``migrate`` runs,
    each ingest process is restarted in turn (the other one acks meanwhile) and the worker comes
    back. Every callback — including those sent while one process was down — is acked on its
    first delivery, and every message is answered exactly once."""
    _truncate_pg(pg_database)
    sandbox = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET,
                      app_token=TEST_TOKEN, app_aes_key=TEST_AES_KEY)
    sb_url = await sandbox.start()
    ports = [str(free_port()), str(free_port())]
    proxy, front = await start_proxy(kind, tmp_path, ports)
    sandbox.bot_url = f"http://127.0.0.1:{front}"
    quiet = {"DOCTOR_AT_START": "false", "RUN_WORKER": "false"}
    ingest: dict[str, object] = {}
    worker = None
    records: list[tuple[str, dict]] = []
    phase = "before"
    stop_writing = asyncio.Event()

    async def wecom_writes() -> None:
        i = 0
        while not stop_writing.is_set():
            text = f"第{i}号门店的咖啡机坏了"
            rec = await sandbox.member_says(f"user{i % 20}", text)
            records.append((phase, {**rec, "text": text}))
            i += 1
            await asyncio.sleep(0.1)  # WeCom's pace

    async def restart(port: str, name: str) -> None:
        nonlocal phase
        old = ingest[port]
        phase = f"{name} down"
        old.send_signal(signal.SIGTERM)  # systemctl restart wecom-bot@<port>
        _, err = await asyncio.wait_for(old.communicate(), 30)
        assert old.returncode == 0 and b"bot stopped cleanly" in err
        ingest[port] = await start_bot(pg_database, sb_url, int(port), tmp_path, **quiet)
        phase = "both up"

    try:
        # Before the upgrade: two ingest processes and a worker, started at once (they share
        # nothing but the migrated database; the steps of the procedure below stay in order).
        for port in ports:
            ingest[port] = await spawn_bot(pg_database, sb_url, int(port), tmp_path, **quiet)
        starting = asyncio.create_task(
            start_worker(pg_database, sb_url, tmp_path, DOCTOR_AT_START="false"))
        try:
            await asyncio.gather(*(wait_healthy(f"http://127.0.0.1:{port}", ingest[port])
                                   for port in ports))
        finally:
            worker = await starting
        writing = asyncio.create_task(wecom_writes())
        await sandbox.wait_for_lines("app:user0", 1, timeout=30)
        # 1. systemctl stop wecom-bot-worker; install the new code …
        worker.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(worker.communicate(), 30)
        assert worker.returncode == 0
        # 2. … python main.py migrate, beside the live ingest processes …
        migrate = await asyncio.create_subprocess_exec(
            sys.executable, MAIN, "migrate", cwd=tmp_path, env=bot_env(pg_database, sb_url, 0),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(migrate.communicate(), 60)
        assert migrate.returncode == 0, err.decode()
        # 3. … restart the ingest processes one at a time …
        await restart(ports[0], "first")
        await restart(ports[1], "second")
        # 4. … and start the worker again.
        worker = await start_worker(pg_database, sb_url, tmp_path, DOCTOR_AT_START="false")
        stop_writing.set()
        await writing
        seen = {p for p, _ in records}
        assert {"first down", "second down"} <= seen, seen  # WeCom wrote during each restart
        late = [(p, r["attempts"]) for p, r in records if r["attempts"] != [200]]
        assert not late, late  # nginx passed each callback to the process that was up
        texts = [r["text"] for _, r in records]

        def answered_once() -> bool:
            answers = [ln.content for ln in sandbox.state.lines if ln.sender == "bot"]
            return all(sum(t in a for a in answers) == 1 for t in texts)

        await sandbox.wait_until(answered_once, 120, "every message answered once")
    finally:
        stop_writing.set()
        procs = [p for p in (*ingest.values(), worker) if p is not None]
        await stop_all(procs, None, sandbox)
        await stop(proxy)
