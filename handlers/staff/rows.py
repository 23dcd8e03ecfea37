"""What a staff file holds: its fields (``FIELDS``), one person (``StaffRow``), the formats and
``StaffFileError`` (every problem, one ``file:line: field: message`` line each)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from handlers.config_file import Problem
from models.tickets import Staff

# CSV header order = YAML key order on export.
FIELDS: Final = ("userid", "name", "roles", "phone", "extension", "provider", "skills",
                 "regions", "home", "capacity", "rating", "shifts", "leave", "active",
                 "departments", "tags", "stores")
# Taken verbatim from the YAML text (``phone: 13900000001``, ``extension: 0701``, ``name: yes``
# stay text instead of becoming numbers or booleans).
TEXT_FIELDS: Final = ("userid", "name", "phone", "extension", "provider")
FORMATS: Final = (".csv", ".yaml", ".yml")


class StaffFileError(Exception):
    """Everything wrong with a staff file, one line per problem: ``file:line: field: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def staff_format(path: str | Path) -> str:
    """``.csv``, ``.yaml`` or ``.yml`` (lower case) from the file name, else ``StaffFileError``."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        raise StaffFileError([str(Problem(str(p), None, None,
                                          f"unknown format {p.suffix or '(no extension)'!r}: "
                                          f"use .csv, .yaml or .yml"))])
    return suffix


@dataclass
class StaffRow:
    """One person as the file describes them; ``line`` is where (for messages only)."""

    userid: str
    name: str = ""
    roles: list[str] = field(default_factory=list)
    phone: str | None = None
    extension: str | None = None
    provider: str = ""
    skills: dict[str, int] = field(default_factory=dict)
    regions: list[str] = field(default_factory=list)
    home: tuple[float, float] | None = None
    capacity: int = 0
    rating: float | None = None
    shifts: list[dict[str, str]] = field(default_factory=list)
    leave: list[dict[str, str]] = field(default_factory=list)
    active: bool = True
    departments: list[str] = field(default_factory=list)  # WeCom org (质检部 …): workflow owners
    tags: list[str] = field(default_factory=list)  # WeCom tags: workflow owners
    stores: list[str] = field(default_factory=list)  # stores this person is duty manager of
    line: int = field(default=0, compare=False)

    def columns(self) -> dict[str, Any]:
        """The ``Staff`` column values this row sets (everything but ``userid`` and the live
        location)."""
        lat, lon = self.home if self.home is not None else (None, None)
        return {"name": self.name, "roles": list(self.roles), "phone": self.phone,
                "extension": self.extension, "provider": self.provider,
                "skills": dict(self.skills), "regions": list(self.regions),
                "home_lat": lat, "home_lon": lon, "capacity": self.capacity,
                "rating": self.rating, "shifts": [dict(s) for s in self.shifts],
                "leave": [dict(lv) for lv in self.leave], "active": self.active,
                "departments": list(self.departments), "tags": list(self.tags),
                "stores": list(self.stores)}

    @classmethod
    def from_staff(cls, s: Staff) -> StaffRow:
        home = (s.home_lat, s.home_lon) if s.home_lat is not None and s.home_lon is not None \
            else None
        return cls(userid=s.userid, name=s.name or "", roles=list(s.roles or []), phone=s.phone,
                   extension=s.extension, provider=s.provider or "",
                   skills=dict(s.skills or {}), regions=list(s.regions or []), home=home,
                   capacity=s.capacity, rating=s.rating, shifts=list(s.shifts or []),
                   leave=list(s.leave or []), active=s.active,
                   departments=list(s.departments or []), tags=list(s.tags or []),
                   stores=list(s.stores or []))
