"""SMS providers against the sandbox (signatures checked, failures and limits), the courier's
fallback to the next channel, at-most-once after an unknown outcome, and the urgent rule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import aiohttp
import pytest

from bot.sandbox.server import Sandbox
from bot.sandbox.sms import SMS_CREDENTIALS
from bot.sms import AliyunSms, SmsError, TencentSms
from handlers.dispatch.urgent import fastest_first
from handlers.sla.config import SlaConfig
from handlers.sla.courier import SlaCourier, failed_deliveries
from models.db import make_engine, make_sessionmaker
from models.sla import SlaDelivery
from models.tickets import Staff
from scheduler.clock import ManualClock
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN
from tests.scenarios.sla_support import mail_server

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
async def sandbox():
    clock = ManualClock(NOW)
    sb = Sandbox(corp_id=TEST_CORP_ID, agent_id=218, secret=TEST_SECRET, app_token=TEST_TOKEN,
                 app_aes_key=TEST_AES_KEY, clock=clock)
    base = await sb.start()
    async with aiohttp.ClientSession() as http:
        yield sb, base, http, clock
    await sb.stop()


def tencent(base, http, clock, key=None):
    sid, secret = SMS_CREDENTIALS["tencent"]
    return TencentSms(http, secret_id=sid, secret_key=key or secret, app_id="1400000000",
                      sign_name="工单助手", template_id="1234567",
                      endpoint=f"{base}/sms/tencent", clock=clock)


def aliyun(base, http, clock, key=None):
    kid, secret = SMS_CREDENTIALS["aliyun"]
    return AliyunSms(http, access_key_id=kid, access_key_secret=key or secret,
                     sign_name="工单助手", template_code="SMS_15300000",
                     endpoint=f"{base}/sms/aliyun", clock=clock)


async def test_tencent_signed_request_is_accepted_and_a_wrong_key_refused(sandbox):
    sb, base, http, clock = sandbox
    ref = await tencent(base, http, clock).send("13900000010", ["GD20261125-0001", "已超时"])
    assert ref and [(s.phone, s.params) for s in sb.sms] == [
        ("+8613900000010", ["GD20261125-0001", "已超时"])]
    with pytest.raises(SmsError) as err:
        await tencent(base, http, clock, key="wrong").send("13900000010", ["x", "y"])
    assert err.value.code == "AuthFailure.SignatureFailure" and not err.value.retryable
    # The same content to the same number within 30 s: the provider's limit, retryable.
    with pytest.raises(SmsError) as err:
        await tencent(base, http, clock).send("13900000010", ["GD20261125-0001", "已超时"])
    assert err.value.code == "LimitExceeded.PhoneNumberThirtySecondLimit" and err.value.retryable
    clock.advance(31)
    await tencent(base, http, clock).send("13900000010", ["GD20261125-0001", "已超时"])
    assert len(sb.sms) == 2


async def test_aliyun_signed_request_is_accepted_and_failures_carry_the_code(sandbox):
    sb, base, http, clock = sandbox
    assert await aliyun(base, http, clock).send("13900000010", ["GD1", "待处理"])
    assert sb.sms[0].params == ["GD1", "待处理"] and sb.sms[0].phone == "13900000010"
    with pytest.raises(SmsError) as err:
        await aliyun(base, http, clock, key="wrong").send("13900000010", ["GD1", "x"])
    assert err.value.code == "SignatureDoesNotMatch"
    sb.fail_sms("aliyun", "isv.BUSINESS_LIMIT_CONTROL")
    with pytest.raises(SmsError) as err:
        await aliyun(base, http, clock).send("13900000010", ["GD1", "y"])
    assert err.value.retryable and len(sb.sms) == 1


async def _courier(db_url, sandbox, smtp, **cfg):
    from bot.mail import Mailer

    sb, base, http, clock = sandbox
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    config = SlaConfig.model_validate({"contacts": {"quzhuguan": {"email": "qu@example.test"}},
                                       **cfg})
    async with sm() as s, s.begin():
        s.add(Staff(userid="quzhuguan", name="曲主管", roles=["supervisor"], phone="13900000010"))
    courier = SlaCourier(sm, clock, config, client=None, agent_id=218,
                         sms=tencent(base, http, clock),
                         mailer=Mailer(host="127.0.0.1", port=smtp.port, sender="bot@example.test",
                                       tls=False), lease=timedelta(seconds=60))
    return courier, sm, engine


def delivery(**over):
    row = dict(key="t1:first_response:level2:quzhuguan:sms", kind="escalation", channel="sms",
               recipient="quzhuguan", address="13900000010", subject="【工单预警】GD1 超时未处理",
               body="⚠️ 工单 GD1 …", payload={"params": ["GD1", "超时未处理"]},
               fallback=["email", "wecom"], status="pending", not_before=NOW, attempts=0,
               created_at=NOW)
    row.update(over)
    return SlaDelivery(**row)


async def test_a_refused_sms_falls_back_to_email_and_stays_visible(db_url, sandbox):
    smtp = mail_server()
    courier, sm, engine = await _courier(db_url, sandbox, smtp)
    try:
        async with sm() as s, s.begin():
            s.add(delivery())
        sandbox[0].fail_sms("tencent", "FailedOperation.PhoneNumberInBlacklist")
        await courier.run_once()
        await courier.run_once()
        assert sandbox[0].sms == []
        [mail] = smtp.messages
        assert mail["to"] == ["qu@example.test"] and "GD1" in mail["subject"]
        async with sm() as s:
            [failed] = await failed_deliveries(s)
            rows = {d.channel: d.status for d in (await failed_deliveries(s, everything=True))}
        assert failed.channel == "sms" and "PhoneNumberInBlacklist" in failed.last_error
        assert rows == {"sms": "failed", "email": "sent"}
    finally:
        smtp.stop()
        await engine.dispose()


async def test_an_unknown_outcome_is_not_sent_again_on_the_same_channel(db_url, sandbox):
    smtp = mail_server()
    courier, sm, engine = await _courier(db_url, sandbox, smtp)
    try:
        async with sm() as s, s.begin():  # a process died while sending it
            s.add(delivery(status="sending", attempts=1, lease_until=NOW - timedelta(seconds=1)))
        await courier.run_once()
        await courier.run_once()
        assert sandbox[0].sms == [] and len(smtp.messages) == 1
        async with sm() as s:
            [unknown] = await failed_deliveries(s)
        assert unknown.status == "unknown"
    finally:
        smtp.stop()
        await engine.dispose()


def test_urgent_goes_to_the_fastest_responder_of_the_last_three_days():
    c = lambda tid, rank: SimpleNamespace(tech_id=tid, rank=rank)  # noqa: E731
    techs = [SimpleNamespace(id="a", response_median_s=600.0),
             SimpleNamespace(id="b", response_median_s=45.0),
             SimpleNamespace(id="c", response_median_s=None)]
    ranked = [c("a", 1), c("c", 2), c("b", 3)]
    assert [x.tech_id for x in fastest_first(ranked, techs)] == ["b", "a", "c"]


async def test_a_stop_lets_the_round_in_hand_finish_and_ends_an_idle_wait(db_url, sandbox):
    """SIGTERM while an SMS is on its way: it ends (recorded as sent, not left 'sending' for
    the next start to call unknown), the round's next delivery goes back to pending untried,
    and the stop returns. Before, the stop cancelled the loop; on PostgreSQL a cancellation
    lost in the driver's wait kept the loop going and the stop waiting for ever."""
    smtp = mail_server()
    courier, sm, engine = await _courier(db_url, sandbox, smtp)
    try:
        async with sm() as s, s.begin():
            s.add(delivery())
            s.add(delivery(key="t2:first_response:level2:quzhuguan:sms", subject="GD2"))
        on_its_way, answer = asyncio.Event(), asyncio.Event()
        deliver = courier._deliver

        async def slow_provider(row):
            on_its_way.set()
            await answer.wait()  # the provider has not answered yet
            return await deliver(row)

        courier._deliver = slow_provider
        courier.poll_seconds = 3600  # between rounds it would wait an hour
        await courier.start()
        await on_its_way.wait()
        stopping = asyncio.create_task(courier.stop())
        await asyncio.sleep(0)
        assert not stopping.done()  # it waits for the round in hand
        answer.set()
        await stopping
        assert [m.phone for m in sandbox[0].sms] == ["+8613900000010"]
        async with sm() as s:
            rows = sorted(await failed_deliveries(s, everything=True), key=lambda d: d.id)
        assert [(d.status, d.attempts, d.lease_until) for d in rows] == [
            ("sent", 1, None), ("pending", 0, None)]  # the second: for the next start
        await courier.start()  # again: idle, waiting an hour for the next round
        await courier.stop()  # returns at once
    finally:
        smtp.stop()
        await engine.dispose()
