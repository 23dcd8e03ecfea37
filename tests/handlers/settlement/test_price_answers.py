"""Who owns a technician's short price answer ("水泵 180元"): settlement while it awaits part
prices from them (handlers/arbitration.py, kind ``part_prices``), dispatch for 完工 details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers.arbitration import arbitrate
from handlers.routing import Context
from handlers.settlement.prices import is_price_answer
from handlers.understanding import Turn
from models.conversation import expect
from models.db import make_engine, make_sessionmaker
from models.messages import Event
from nlp.staff_commands import parse_staff_command
from scheduler.clock import ManualClock

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
TECH = "lishifu"


@pytest.fixture
async def session(db_url):
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as s, s.begin():
        yield s
    await engine.dispose()


def turn(text: str) -> Turn:
    return Turn(raw=text, text=text, group=False, addressed=True, word=None, bill=None,
                command=parse_staff_command(text), ticket_no=None, analysis=None)


async def owner_of(session, text: str) -> tuple[str | None, int | None]:
    t = turn(text)
    ev = Event("app", "message", "text", TECH, f"app:{TECH}", "k", {"text": text}, 1)
    await arbitrate(Context(ev, session, ManualClock(NOW), turn=t))
    return t.owner, (t.awaiting.ref if t.awaiting else None)


async def wait(session, kind: str, owner: str, ref: int) -> None:
    await expect(session, person=TECH, owner=owner, kind=kind, ref=ref, now=NOW,
                 expires_at=NOW + timedelta(hours=1))


async def test_a_price_answer_goes_to_settlement_while_it_awaits_prices(session):
    assert await owner_of(session, "水泵 180元") == (None, None)  # nothing asked
    await wait(session, "part_prices", "settlement", 7)
    for text in ("水泵 180元", "180元", "180", "水泵180，密封圈2个共10元", "配件 水泵1个180元"):
        assert await owner_of(session, text) == ("settlement", 7), text
    for text in ("好的", "工时1小时 无配件", "确认"):
        assert (await owner_of(session, text))[0] is None, text


async def test_prices_and_work_details_awaited_together_each_go_where_they_belong(session):
    await wait(session, "work_report", "dispatch", 8)
    await wait(session, "part_prices", "settlement", 7)
    assert await owner_of(session, "水泵 180元") == ("settlement", 7)
    assert await owner_of(session, "工时1小时 配件 水泵1个") == ("dispatch", 8)
    assert await owner_of(session, "工时1小时 无配件") == ("dispatch", 8)


async def test_the_settlement_filter_takes_only_its_price_answers(session):
    await wait(session, "part_prices", "settlement", 7)
    t = turn("水泵 180元")
    ev = Event("app", "message", "text", TECH, f"app:{TECH}", "k", {"text": t.raw}, 1)
    await arbitrate(Context(ev, session, ManualClock(NOW), turn=t))
    assert is_price_answer(ev, t) and not is_price_answer(ev, turn("水泵 180元"))
