"""The pure pieces intake's work is made of: matching a report to a ticket, what a message adds
to a draft, the summary shown for confirmation, the ticket a draft becomes, and the attachment a
media message carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.intake.drafts import (draft_category, filled, summary_rows, summary_text,
                                    ticket_data, with_entities)
from handlers.intake.helpers import local_time, quote, same_problem
from handlers.intake.media import attachment_of
from models.messages import Event
from models.tickets import Draft, Ticket
from nlp.analyzer import Analysis, Entities


def analysis(intent: str = "create", category: str = "repair", urgency: str = "normal",
             faults: tuple[str, ...] = (), precision: str | None = None,
             **entities: object) -> Analysis:
    return Analysis(text="", intent=intent, confidence=1.0, category=category, urgency=urgency,
                    entities=Entities(**entities), faults=faults,  # type: ignore[arg-type]
                    appointment_precision=precision)


def ticket(**kw: object) -> Ticket:
    return Ticket(number="GD20261125-0001", customer_id=1, category="repair", title="t",
                  description=kw.pop("description", ""), **kw)  # type: ignore[arg-type]


def test_same_problem_by_device_and_address_or_by_text():
    t = ticket(device="咖啡机", address="人民广场店一楼", description="咖啡机不出水\n补充")
    assert same_problem("", "咖啡机", None, t, 80)
    assert not same_problem("", "空调", None, t, 80)
    assert same_problem("", "咖啡机", "人民广场店一楼", t, 80)
    assert not same_problem("", "咖啡机", "徐家汇店三楼仓库", t, 80)
    # without devices: the first line of the description, at least 4 characters of text
    bare = ticket(description="门店的灯一直闪烁不停\n后来又…")
    assert same_problem("门店的灯一直闪烁不停！", None, None, bare, 80)
    assert not same_problem("你好", None, None, ticket(description="你好"), 80)


def test_quote_and_local_time():
    assert quote("a  b\nc") == "a b c"
    assert quote("长" * 61) == "长" * 60 + "…"
    assert local_time("2026-11-25T06:30:00+00:00", "minute") == "11月25日 14:30"
    assert local_time("2026-11-25T20:00:00+00:00", "date") == "11月26日"


def test_a_message_fills_a_drafts_fields():
    a = analysis(urgency="high", faults=("漏水",), precision="part_of_day", phones=("13812345678",),
                 store="人民广场店", device="空调",
                 appointment=datetime(2026, 11, 25, 6, tzinfo=UTC))
    before = {"time_text": "尽快", "faults": ["不制冷"], "urgency": "normal"}
    f = with_entities(before, a)
    assert before == {"time_text": "尽快", "faults": ["不制冷"], "urgency": "normal"}
    assert f == {"phone": "13812345678", "store": "人民广场店", "device": "空调",
                 "appointment": "2026-11-25T06:00:00+00:00", "precision": "part_of_day",
                 "faults": ["不制冷", "漏水"], "urgency": "high"}
    # urgency never drops
    assert with_entities({"urgency": "urgent"}, analysis(urgency="low"))["urgency"] == "urgent"
    assert filled(f, "place") and filled(f, "time") and filled(f, "phone")
    assert not filled({"device": ""}, "device") and filled({"time_text": "尽快"}, "time")


def test_the_category_a_report_opens_with():
    slots = {"repair": [], "consult": [], "other": []}
    assert draft_category(analysis(category="invoice"), slots) == "repair"
    assert draft_category(analysis(category="other"), slots) == "consult"
    assert draft_category(analysis(category="other", device="POS机"), slots) == "repair"


def draft(**fields: object) -> Draft:
    return Draft(id=7, conversation_key="c", sender="u1", channel="aibot", customer_id=3,
                 category="repair", fields=fields, description="空调漏水", linked_ticket_id=None)


def test_the_summary_masks_phones_in_groups():
    d = draft(device="空调", store="3号店", address="南京路1号", phone="13812345678",
              time_text="尽快")
    assert summary_text(summary_rows(d, group=False)) == (
        "类型：报修\n设备：空调\n地点：3号店 南京路1号\n电话：13812345678\n时间：尽快\n"
        "描述：空调漏水")
    assert ("电话", "138****5678") in summary_rows(d, group=True)


def test_the_ticket_a_draft_becomes():
    d = draft(device="空调", faults=["漏水"], urgency="bogus",
              appointment="2026-11-25T06:00:00+00:00", precision="part_of_day",
              phone="13812345678", lat=31.2, location_label="x", store="3号店")
    d.linked_ticket_id = 5
    t = ticket_data(d, site_id=9)
    assert (t.title, t.priority, t.site_id, t.link_kind) == ("空调漏水", "normal", 9, "repeat")
    assert t.appointment_end - t.appointment_start == timedelta(hours=4)  # type: ignore[operator]
    assert t.fields == {"faults": ["漏水"], "urgency": "bogus", "precision": "part_of_day",
                        "lat": 31.2, "location_label": "x"}
    bare = ticket_data(draft(), None)
    assert (bare.title, bare.link_kind, bare.appointment_start) == ("空调漏水", None, None)


def test_the_attachment_a_media_message_carries():
    now = datetime(2026, 11, 25, tzinfo=UTC)
    loc = Event("app", "message", "location", "u1", "c", "k",
                {"location": {"lat": "31.2", "lon": "121.5"}}, id=4)
    att = attachment_of(loc, now)
    assert (att.kind, att.lat, att.lon, att.label, att.inbox_event_id) == (
        "location", 31.2, 121.5, "31.2,121.5", 4)
    bad = Event("app", "message", "location", "u1", "c", "k", {"location": {"lat": "north"}})
    assert (attachment_of(bad, now).lat, attachment_of(bad, now).label) == (None, "")
    img = Event("app", "message", "image", "u1", "c", "k",
                {"image": {"url": "http://x/1.jpg", "media_id": "M1"}})
    got = attachment_of(img, now)
    assert (got.kind, got.url, got.media_id) == ("image", "http://x/1.jpg", "M1")
