"""Ticket numbers and customer identities, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models.db import write_session
from models.ticketing import add_phone, allocate_number, create_ticket, customer_for
from models.tickets import (Customer, CustomerIdentity, Draft, Ticket, TicketCreate,
                            TicketEvent)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def test_numbers_are_sequential_per_shanghai_day(db):
    sm, gate = db
    async with write_session(sm, gate) as s:
        first = [await allocate_number(s, NOW) for _ in range(3)]
        # 16:30 UTC is already the 26th in Shanghai: a new day starts at 0001.
        next_day = await allocate_number(s, datetime(2026, 11, 25, 16, 30, tzinfo=UTC))
        # 15:59 UTC is still the 25th.
        same_day = await allocate_number(s, datetime(2026, 11, 25, 15, 59, tzinfo=UTC))
    assert first == ["GD20261125-0001", "GD20261125-0002", "GD20261125-0003"]
    assert next_day == "GD20261126-0001"
    assert same_day == "GD20261125-0004"


async def test_a_rolled_back_transaction_gives_its_number_back(db):
    sm, gate = db
    with pytest.raises(RuntimeError):
        async with write_session(sm, gate) as s:
            await allocate_number(s, NOW)
            raise RuntimeError("handler failed")
    async with write_session(sm, gate) as s:
        assert await allocate_number(s, NOW) == "GD20261125-0001"


async def test_concurrent_allocation_hands_out_each_number_once(db):
    sm, gate = db

    async def one() -> str:
        async with write_session(sm, gate) as s:
            number = await allocate_number(s, NOW)
            await asyncio.sleep(0)  # let the others interleave inside their transactions
            return number

    numbers = await asyncio.gather(*(one() for _ in range(20)))
    assert sorted(numbers) == [f"GD20261125-{i:04d}" for i in range(1, 21)]


async def test_created_tickets_get_unique_numbers_and_an_audit_event(db):
    sm, gate = db
    async with write_session(sm, gate) as s:
        c = await customer_for(s, "wecom_userid", "zhangsan", NOW)
        t1 = await create_ticket(s, TicketCreate(customer_id=c.id, title="空调不制冷"),
                                 actor="test", now=NOW)
        t2 = await create_ticket(s, TicketCreate(customer_id=c.id, title="冰箱漏水"),
                                 actor="test", now=NOW + timedelta(minutes=1))
    async with sm() as s:
        events = (await s.execute(select(TicketEvent).order_by(TicketEvent.id))).scalars().all()
    assert (t1.number, t2.number) == ("GD20261125-0001", "GD20261125-0002")
    assert t1.status == "new" and t1.version == 1
    assert [(e.ticket_id, e.action, e.after["status"]) for e in events] == [
        (t1.id, "create", "new"), (t2.id, "create", "new")]


async def test_the_same_identity_is_the_same_customer(db):
    sm, gate = db
    async with write_session(sm, gate) as s:
        a = await customer_for(s, "wecom_userid", "zhangsan", NOW)
        b = await customer_for(s, "wecom_userid", "zhangsan", NOW)
        c = await customer_for(s, "external_userid", "zhangsan", NOW)  # another kind: another id
    assert a.id == b.id != c.id
    with pytest.raises(ValueError):
        async with write_session(sm, gate) as s:
            await customer_for(s, "email", "x@example.com", NOW)


async def test_a_phone_someone_else_holds_merges_no_one_and_links_no_history(db):
    """A number typed in a chat proves nothing about who typed it: 陈女士 typing 张三's number
    must not make her 张三 (she could see and cancel his tickets), nor put his tickets into
    the history staff see beside hers (a sandbox walk: "报修11次" for a newcomer)."""
    from models.customers import linked_customer_ids
    from models.ticketing import customer_phone

    sm, gate = db
    async with write_session(sm, gate) as s:
        app = await customer_for(s, "wecom_userid", "zhangsan", NOW)
        app = await add_phone(s, app, "13812345678", NOW)
        ticket = await create_ticket(s, TicketCreate(customer_id=app.id, phone="13812345678"),
                                     actor="t", now=NOW)
    async with write_session(sm, gate) as s:
        kf = await customer_for(s, "external_userid", "wmCHEN", NOW)
        s.add(Draft(conversation_key="kf:x:wmCHEN", sender="wmCHEN", channel="kf",
                    customer_id=kf.id, created_at=NOW, updated_at=NOW))
        await s.flush()
        still = await add_phone(s, kf, "13812345678", NOW)
        assert still.id == kf.id != app.id
    async with write_session(sm, gate) as s:
        again = await customer_for(s, "external_userid", "wmCHEN", NOW)
        by_phone = await customer_for(s, "phone", "13812345678", NOW)
        idents = (await s.execute(select(CustomerIdentity.customer_id, CustomerIdentity.kind,
                                         CustomerIdentity.value)
                                  .order_by(CustomerIdentity.id))).all()
        drafts = (await s.execute(select(Draft.customer_id))).scalars().all()
        t = await s.get(Ticket, ticket.id)
        n_customers = (await s.execute(select(func.count()).select_from(Customer).where(
            Customer.merged_into_id.is_(None)))).scalar_one()
        linked = await linked_customer_ids(s, t)
        prefill = await customer_phone(s, kf.id)
    assert again.id == kf.id and by_phone.id == app.id  # the number's holder stays 张三
    assert idents == [(app.id, "wecom_userid", "zhangsan"), (app.id, "phone", "13812345678"),
                      (kf.id, "external_userid", "wmCHEN")]
    assert drafts == [kf.id] and t.customer_id == app.id and n_customers == 2
    assert linked == {app.id} and again.phone is None and prefill is None
    # A ticket she files with the number does link them: it is a contact made through it.
    async with write_session(sm, gate) as s:
        hers = await create_ticket(s, TicketCreate(customer_id=kf.id, phone="13812345678"),
                                   actor="t", now=NOW)
        t = await s.get(Ticket, ticket.id)
        assert await linked_customer_ids(s, t) == {app.id, kf.id}
        assert await linked_customer_ids(s, hers) == {app.id, kf.id}


async def test_people_are_found_by_what_their_lists_hold_without_reading_everyone(db):
    """``may_hold`` lets the database pick the people whose roles / departments / stores hold
    a value — however the list's JSON was written (escaped by us, or typed in UTF-8) — and
    never mistakes a longer or look-alike value for it."""
    from sqlalchemy import text

    from models.ticketing import may_hold, staff_with_role
    from models.tickets import Staff

    sm, gate = db
    async with write_session(sm, gate) as s:
        s.add_all([
            Staff(userid="qc1", name="质检一", roles=["store_manager"], departments=["质检部"],
                  stores=["人民广场店"]),
            Staff(userid="qc2", name="质检二", roles=["technician"], departments=["质检部门"]),
            Staff(userid="look", name="像", roles=["storeXmanager"], departments=["质%部"]),
            Staff(userid="off", name="离职", roles=["store_manager"], active=False),
        ])
        await s.flush()
        # a row written by another tool, its JSON in plain UTF-8 rather than \\u escapes
        await s.execute(text(
            "INSERT INTO staff (userid, name, roles, skills, regions, shifts, leave, capacity, "
            "rating, active, departments, tags, stores) VALUES ('raw', '手填', "
            "'[\"store_manager\"]', '{}', '[]', '[]', '[]', 3, 4.5, true, '[\"质检部\"]', "
            "'[]', '[\"人民广场店\"]')"))

    async def who(*where) -> list[str]:
        async with sm() as s:
            return sorted((await s.execute(select(Staff.userid).where(*where))).scalars())

    assert await who(may_hold(Staff.departments, "质检部")) == ["qc1", "raw"]
    assert await who(may_hold(Staff.stores, "人民广场店")) == ["qc1", "raw"]
    assert await who(may_hold(Staff.departments, "质%部")) == ["look"]
    assert await who(may_hold(Staff.departments)) == []
    # "_" is not a wildcard: storeXmanager does not pass for store_manager
    assert await who(may_hold(Staff.roles, "store_manager")) == ["off", "qc1", "raw"]
    async with sm() as s:
        assert [p.userid for p in await staff_with_role(s, "store_manager", "technician")] == [
            "qc1", "qc2", "raw"]


async def test_a_text_answer_finds_the_statement_it_is_about_in_one_read(db):
    """确认 / 异议 in text: the person's newest statement of the last days still waiting for
    them (or already answered, for 异议), the one the text names when it names one — however
    many older ones they never answered."""
    from models.settlement import (CONFIRMED, PENDING, SettlementStatement, StatementAck,
                                   ack_to_answer)

    sm, gate = db
    async with write_session(sm, gate) as s:
        s.add(Customer(id=1, name="客户", created_at=NOW))
        for i in range(1, 5):
            s.add(Ticket(id=i, number=f"GD20261125-000{i}", customer_id=1, description="d",
                         created_at=NOW, updated_at=NOW))
        await s.flush()
        # statement 1: 40 days old, never answered; 2 and 3: this week; 4: confirmed already
        for i, days, status in ((1, 40, PENDING), (2, 3, PENDING), (3, 1, PENDING),
                                (4, 0, CONFIRMED)):
            at = NOW - timedelta(days=days)
            s.add(SettlementStatement(
                statement_id=f"st-{i}", ticket_id=i, ticket_number=f"GD20261125-000{i}",
                kind="final", book_id="b", book_version=1, service="repair", service_rule="r",
                currency="CNY", net="1", tax="0", gross="1", technician_share="0",
                completed_at=at, ticket_input={}, statement={}, created_at=at))
            await s.flush()
            s.add(StatementAck(statement_id=f"st-{i}", ticket_id=i, party="technician",
                               who="lishifu", status=status))
    since = NOW - timedelta(days=30)
    async with sm() as s:
        async def which(statuses, number=None):
            ack = await ack_to_answer(s, "lishifu", statuses, since, number)
            return ack.statement_id if ack else None

        assert await which((PENDING,)) == "st-3"  # the newest still waiting
        assert await which((PENDING,), "GD20261125-0002") == "st-2"
        assert await which((PENDING,), "GD20261125-0001") is None  # too old to answer
        assert await which((PENDING, CONFIRMED)) == "st-4"  # 异议 after a 确认
        assert await which((PENDING,), "GD20261125-0004") is None  # already confirmed
        assert await ack_to_answer(s, "someone", (PENDING,), since) is None
