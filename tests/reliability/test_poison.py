"""One poisoned payload costs nobody else anything (project issue 9, items 6 and 8).

Over real HTTP with real encryption, on SQLite and PostgreSQL:

* 200 concurrent genuine callbacks and one poisoned payload: the 200 are acked (200, empty
  body) and stored, the poisoned one gets a 4xx — whether the parser refuses it (two
  ``<FromUserName>``) or the database itself refuses its row inside a shared group commit;
* a card key is input: a 40-digit id, or a forged ``transfer_to`` / ``assign``, gets the polite
  "unknown card" answer, the event is done (not retried), and the person's next message is
  handled at once.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import psycopg
import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url

from bot.crypto import WeComCrypto
from handlers.staff.seed import seed_sandbox
from handlers import voice as texts
from models.dispatch import DispatchJob, Offer
from models.tickets import Staff, Ticket
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_TOKEN, start_stack

N = 200
TS, NONCE = "1732500000", "n0nce"


def text_xml(user: str, msgid: int, text: str = "咖啡机坏了") -> str:
    return (f"<xml><ToUserName><![CDATA[{TEST_CORP_ID}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>1732500000"
            f"</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]>"
            f"</Content><MsgId>{msgid}</MsgId><AgentID>218</AgentID></xml>")


TWO_SENDERS = (f"<xml><ToUserName>{TEST_CORP_ID}</ToUserName><FromUserName>evil</FromUserName>"
               f"<FromUserName>evil2</FromUserName><CreateTime>1732500000</CreateTime>"
               f"<MsgType>text</MsgType><Content>x</Content><MsgId>999999</MsgId></xml>")


async def deliver_all(st, plaintexts: list[str]) -> list[tuple[int, bytes]]:
    """Encrypt, sign and POST every callback at once, like WeCom (``Sandbox.deliver`` does the
    same but through at most 100 connections, and retries non-200 answers): one delivery
    each, all in flight together. Returns (status, body) per callback."""
    crypto = WeComCrypto(TEST_TOKEN, TEST_AES_KEY, TEST_CORP_ID)

    async def one(http, plaintext):
        enc, sig = crypto.seal(plaintext, TS, NONCE)
        async with http.post(
                f"{st.bot.url}/wecom/callback?msg_signature={sig}&timestamp={TS}&nonce={NONCE}",
                data=f"<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>") as r:
            return r.status, await r.read()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        return list(await asyncio.gather(*(one(http, p) for p in plaintexts)))


async def post_once(st, plaintext: str) -> int:
    [(status, _)] = await deliver_all(st, [plaintext])
    return status


@pytest.fixture
async def st(db_url):
    stack = await start_stack(db_url)
    yield stack
    await stack.bot.stop()
    await stack.sandbox.stop()


async def test_200_callbacks_and_a_payload_with_two_senders(st):
    plaintexts = [text_xml(f"user{i % 40}", 1_000_000 + i) for i in range(N)]
    plaintexts.insert(N // 2, TWO_SENDERS)
    answers = await deliver_all(st, plaintexts)
    poisoned = answers.pop(N // 2)
    assert answers == [(200, b"")] * N  # acked, with no passive reply
    assert 400 <= poisoned[0] < 500
    rows = await st.inbox()
    assert len(rows) == N and {r.dedupe_key for r in rows} == {
        f"app:msg:{1_000_000 + i}" for i in range(N)}
    assert all(isinstance(r.sender, str) and r.sender.startswith("user") for r in rows)


# -- a row the database itself refuses, inside a shared group commit ------------------------


def refuse_sender(url: str, sender: str) -> None:
    """A trigger that makes the database refuse one sender's rows, as it would a value it
    cannot hold: the parser has no say, only the writer's isolation can save the batch."""
    if make_url(url).get_backend_name() == "sqlite":
        import sqlite3

        with sqlite3.connect(make_url(url).database) as c:
            c.execute(f"CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox "
                      f"WHEN NEW.sender = '{sender}' BEGIN SELECT RAISE(ABORT, 'poison'); END")
        return
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"""CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN
                        IF NEW.sender = '{sender}' THEN
                          RAISE EXCEPTION 'poison' USING ERRCODE = '22023';
                        END IF;
                        RETURN NEW; END $$ LANGUAGE plpgsql""")
        c.execute("CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox FOR EACH ROW "
                  "EXECUTE FUNCTION refuse_poison()")


def drop_refusal(url: str) -> None:
    if make_url(url).get_backend_name() != "sqlite":  # the PostgreSQL database is shared
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("DROP TRIGGER IF EXISTS refuse_poison ON inbox")
            c.execute("DROP FUNCTION IF EXISTS refuse_poison()")


async def test_a_row_the_database_refuses_is_set_apart_from_its_batch(db_url, caplog):
    st = await start_stack(db_url)
    refuse_sender(db_url, "poison")
    writer = st.bot.writer
    batches: list[int] = []
    release = asyncio.Event()
    write = writer._write

    async def held(items):  # the first write waits, so everything else queues behind it
        batches.append(len(items))
        await release.wait()
        await write(items)

    writer._write = held
    try:
        plaintexts = [text_xml(f"user{i % 40}", 2_000 + i) for i in range(N)]
        first = asyncio.ensure_future(deliver_all(st, plaintexts[:1]))
        await st.sandbox.wait_until(lambda: batches == [1], what="the first write held")
        rest = plaintexts[1:]
        rest.insert(N // 2, text_xml("poison", 1))
        others = asyncio.ensure_future(deliver_all(st, rest))
        await st.sandbox.wait_until(lambda: writer._queue.qsize() == N, what="200 waiting")
        with caplog.at_level(logging.WARNING, logger="bot.inbox"):
            release.set()
            answers = await first + await others
        assert batches[:2] == [1, N]  # one group commit held the poison and 199 others
        status, _ = answers.pop(1 + N // 2)
        assert answers == [(200, b"")] * N  # acked, with no passive reply
        assert status == 400
        rows = await st.inbox()
        assert len(rows) == N and "poison" not in {r.sender for r in rows}
        assert any("in halves" in r.getMessage() for r in caplog.records)
        [refused] = [r.getMessage() for r in caplog.records if "cannot be stored" in r.getMessage()]
        assert "event app:msg:1 cannot" in refused and "\n" not in refused
    finally:
        release.set()
        drop_refusal(db_url)
        await st.bot.stop()
        await st.sandbox.stop()


@pytest.mark.parametrize("spooled", [False, True], ids=["inbox", "spool"])
async def test_a_storage_fault_is_still_a_503_for_the_whole_batch(sqlite_url, spooled):
    """The database locked by another process is not the payloads' fault: 503, WeCom
    retries, and nothing is refused for good. The same for the spool file an ingest beside
    worker processes writes to (models/spool.py)."""
    import sqlite3

    from models.spool import spool_path

    st = await start_stack(sqlite_url, spool=spooled, SQLITE_BUSY_TIMEOUT_MS=50)
    where = spool_path(sqlite_url) if spooled else make_url(sqlite_url).database
    other = sqlite3.connect(where, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        statuses = await asyncio.gather(*(post_once(st, text_xml("u", 3_000 + i))
                                          for i in range(20)))
        assert set(statuses) == {503}
        other.execute("ROLLBACK")
        statuses = await asyncio.gather(*(post_once(st, text_xml("u", 3_000 + i))
                                          for i in range(20)))
        assert set(statuses) == {200}
        await st.bot.worker.drain()  # moves the spooled ones into the inbox
        assert len(await st.inbox()) == 20
    finally:
        other.close()
        await st.bot.stop()
        await st.sandbox.stop()


# -- card keys are input (issue 9, item 8) --------------------------------------------------

GROUP = "wrSTORE3group"
HUGE = "9" * 40


@pytest.fixture
async def seeded(st):
    async with st.bot.sm() as s, s.begin():
        await seed_sandbox(s, st.clock.now())
    return st


async def staff_id(st, userid: str) -> int:
    [person] = await st.rows(Staff, Staff.userid == userid)
    return person.id


async def click_and_expect_unknown(st, user: str, task_id: str, key: str) -> None:
    before = len(st.said(f"app:{user}"))
    rec = await st.sandbox.click(user, task_id, key)
    assert rec["acked"] and rec["attempts"] == [200]
    await st.settle()
    assert st.said(f"app:{user}")[before:] == [texts.CARD_CLICK_UNKNOWN], key
    assert {e.status for e in await st.inbox()} == {"done"}, key  # handled, not retried


async def report(st) -> Ticket:
    for said in ("人民广场店咖啡机坏了，请尽快来修 13812345678", "尽快", "确认"):
        await st.sandbox.aibot_says("zhangsan", said, chat_id=GROUP)
        await st.settle()
    [t] = await st.rows(Ticket)
    return t


@pytest.mark.parametrize("key", [f"dispatch:accept:{HUGE}", f"dispatch:transfer_to:1:{HUGE}",
                                 f"dispatch:assign:{HUGE}:1", f"intake:confirm:{HUGE}",
                                 f"settle:confirm:{HUGE}", f"dispatch:accept:{2 ** 53}",
                                 "dispatch:accept:²", "dispatch:accept:0", "dispatch:assign:1"])
async def test_a_card_key_with_an_absurd_id_is_an_unknown_card(seeded, key):
    st = seeded
    await click_and_expect_unknown(st, "lishifu", "offer-1", key)
    # Nothing is held up: the same person's next message is answered at once.
    before = len(st.said("app:lishifu"))
    await st.sandbox.member_says("lishifu", "你好")
    await st.settle()
    assert len(st.said("app:lishifu")) > before
    assert {e.status for e in await st.inbox()} == {"done"}


async def test_a_forged_transfer_offers_the_job_to_nobody_but_a_fit_technician(seeded):
    st = seeded
    await report(st)
    [offer] = await st.rows(Offer)
    assert offer.technician == "lishifu"
    task = f"offer-{offer.id}"
    async with st.bot.sm() as s, s.begin():  # 赵师傅 is on the books, but no longer active
        await s.execute(update(Staff).where(Staff.userid == "zhaoshifu").values(
            active=False, skills={"coffee": 3}))
    forged = {
        "a manager": await staff_id(st, "wangjingli"),
        "the technician himself": await staff_id(st, "lishifu"),
        "no coffee skill": await staff_id(st, "wangshifu"),
        "serves Hangzhou only": await staff_id(st, "sunshifu"),
        "inactive": await staff_id(st, "zhaoshifu"),
        "finance": await staff_id(st, "qiankuaiji"),
    }
    for who, sid in forged.items():
        await click_and_expect_unknown(st, "lishifu", task,
                                       f"dispatch:transfer_to:{offer.id}:{sid}")
        assert [(o.technician, o.status) for o in await st.rows(Offer)] == [
            ("lishifu", "offered")], who
    await click_and_expect_unknown(st, "lishifu", task, f"dispatch:transfer_to:{offer.id}")
    # The genuine choice still works: 周师傅 has the skill and serves Shanghai.
    await st.sandbox.click("lishifu", f"xfer-{offer.id}",
                           f"dispatch:transfer_to:{offer.id}:{await staff_id(st, 'zhoushifu')}")
    await st.settle()
    assert [(o.technician, o.status) for o in await st.rows(Offer)] == [
        ("lishifu", "transferred"), ("zhoushifu", "offered")]


async def test_a_forged_assignment_assigns_nobody_but_a_technician(seeded):
    st = seeded
    t = await report(st)
    for _ in range(2):  # 李师傅 and 周师傅 do not answer: the dispatcher on duty is asked
        st.clock.advance(minutes=10)
        await st.settle()
    [job] = await st.rows(DispatchJob)
    assert job.status == "escalated"
    task = f"assign-{job.id}"
    for who in ("wangjingli", "qiankuaiji"):  # a manager, finance: not technicians
        await click_and_expect_unknown(st, "wangjingli", task,
                                       f"dispatch:assign:{job.id}:{await staff_id(st, who)}")
    await click_and_expect_unknown(st, "wangjingli", task, f"dispatch:assign:{job.id}:{HUGE}")
    [after] = await st.rows(Ticket)
    assert after.assignee is None
    await st.sandbox.click("wangjingli", task,
                           f"dispatch:assign:{job.id}:{await staff_id(st, 'lishifu')}")
    await st.settle()
    [after] = await st.rows(Ticket)
    assert (after.number, after.assignee) == (t.number, "lishifu")
