"""What prices besides labour and parts, read for settlement from a ticket and its 完工 message."""

from handlers.settlement.details import work_details_of
from handlers.settlement.engine.books import Plan
from models.tickets import Ticket
from datetime import datetime, timezone


def ticket(**fields) -> Ticket:
    return Ticket(number="GD20261125-0001", customer_id=1, fields=fields)


def test_the_completion_message_prices_floor_pipe_and_height():
    got = work_details_of(ticket(), "完工 GD20261125-0001 工时2小时 12楼 铜管6米 高空作业 无配件")
    assert got == {"floor": 12, "pipe_m": "6", "flags": ["高空作业"]}


def test_a_templates_fields_count_and_the_technician_has_the_last_word():
    t = ticket(custom=[{"key": "floor", "label": "楼层", "value": "8"},
                       {"key": "high_work", "label": "高空作业", "value": "是"}])
    assert work_details_of(t, "完工 工时1小时 无配件") == {"floor": 8, "flags": ["高空作业"]}
    assert work_details_of(t, "完工 工时1小时 3楼 无配件")["floor"] == 3
    assert work_details_of(ticket(), "完工 工时1小时 无配件") == {}  # nothing said: nothing priced
    # the customer's own words on the ticket (fields["work"]) are not billed
    assert work_details_of(ticket(work={"floor": 12}), "完工 工时1小时 无配件") == {}


def test_a_plan_runs_for_calendar_months():
    p = Plan("ac-care", "年度包", "s", 12)
    sold = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
    assert p.expires(sold) == datetime(2027, 11, 20, 10, tzinfo=timezone.utc)
    assert p.active(sold, datetime(2027, 11, 20, 9, tzinfo=timezone.utc))
    assert not p.active(sold, datetime(2027, 11, 20, 10, tzinfo=timezone.utc))
    assert Plan("m", "m", "s", 1).expires(datetime(2027, 1, 31, tzinfo=timezone.utc)).day == 28
