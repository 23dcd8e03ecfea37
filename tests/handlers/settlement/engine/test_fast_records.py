"""The engine's fast record builders give the same records as the plain ones."""

import dataclasses
import pickle
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from handlers.settlement.engine.frozen import maker
from handlers.settlement.engine.quote import StatementLine
from handlers.settlement.engine.ticket import _CANON, Ticket, canonical_json, shared_zone


def test_maker_builds_an_ordinary_frozen_instance():
    args = ("r/base", "基础费", "b", 1, Decimal("1"), "次", Decimal("200.00"), Decimal("200.00"), Decimal("1.0000"),
            False, "")
    fast, plain = maker(StatementLine)(*args), StatementLine(*args)
    assert type(fast) is StatementLine and fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert pickle.loads(pickle.dumps(fast)) == plain
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.amount = Decimal(0)  # type: ignore[misc]


def test_maker_refuses_a_class_it_cannot_build():
    @dataclasses.dataclass(slots=True)
    class Loose:
        x: int

    with pytest.raises(TypeError):
        maker(Loose)


def test_ticket_times_share_one_zone_per_offset_and_keep_their_instant():
    d = {"id": "T1", "service": "s", "region": "310115", "completed_at": "2026-11-04T16:07:00+08:00",
         "quantities": {"hours": 1.5, "km": 3, "n": "2.50"}}
    t = Ticket.from_dict(d)
    assert t.completed_at.tzinfo is shared_zone(timedelta(hours=8))
    assert t.completed_at == datetime.fromisoformat("2026-11-04T16:07:00+08:00")
    assert Ticket.from_dict({**d, "completed_at": "2026-11-04T08:07:00Z"}).completed_at == t.completed_at
    assert [str(v) for v in t.quantities.values()] == ["1.5", "3", "2.50"]
    assert t.fingerprint() == canonical_json(d) == _CANON.encode(d)
