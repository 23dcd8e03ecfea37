"""Hard filters: one definition of each, applied in this order; a rejected technician is
reported with the first filter they fail.  The predicates take scalars or numpy arrays, so the
index's masks are the same comparisons as the plain loop's."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import numpy as np

from .model import Job, Technician
from .regions import serves
from .shifts import local, on_leave

FILTERS: tuple[str, ...] = ("excluded", "skill", "region", "capacity", "leave", "shift")
FILTER_ZH: dict[str, str] = {
    "excluded": "已拒单/超时",
    "skill": "技能不符或等级不足",
    "region": "不服务该区域",
    "capacity": "已满负荷",
    "leave": "请假中",
    "shift": "不在班",
}

A = TypeVar("A", int, np.ndarray)


def skill_ok(level: A, min_level: int) -> A:
    """Level 0 means 'does not have the skill'."""
    return level >= min_level


def under_capacity(load: A, capacity: A) -> A:
    return load < capacity


def load_text(load: int, offered: int, capacity: int) -> str:
    """The load part as a manager reads it: '当前负载1/3', and the offers still awaiting the
    technician's answer, which weigh too: '当前负载1/3（另有2单待接）'."""
    return f"当前负载{load}/{capacity}" + (f"（另有{offered}单待接）" if offered else "")


def full_text(load: int, offered: int, capacity: int) -> str:
    """Why a technician is full: '当前负载3/3', or, when offers awaiting their answer fill
    the rest, '在手1单，另有2单待接，上限3单'."""
    if not offered:
        return f"当前负载{load}/{capacity}"
    return f"在手{load}单，另有{offered}单待接，上限{capacity}单"


def first_failing(tech: Technician, job: Job, when: datetime, excluded: frozenset[str],
                  offers_fill: bool = True) -> str | None:
    """The first hard filter ``tech`` fails for ``job`` at ``when``, or None if eligible.
    ``offers_fill``: offers awaiting their answer count against capacity (else the jobs they
    hold alone do; the offers still weigh in the load score)."""
    if tech.id in excluded:
        return "excluded"
    if not skill_ok(tech.skills.get(job.skill, 0), job.min_level):
        return "skill"
    if not serves(tech.regions, job.region):
        return "region"
    if not under_capacity(tech.busy if offers_fill else tech.load, tech.capacity):
        return "capacity"
    if on_leave(tech.leave, when):
        return "leave"
    if not tech.schedule.on_shift(when):
        return "shift"
    return None


def rejection_detail(reason: str, tech: Technician, job: Job, when: datetime, skill_label: str) -> str:
    """Chinese detail for a rejection, e.g. '空调技能2级，要求≥3级'."""
    if reason == "excluded":
        return "本单已拒绝或超时未接"
    if reason == "skill":
        level = tech.skills.get(job.skill, 0)
        have = f"{skill_label}技能{level}级" if level else f"无{skill_label}技能"
        return f"{have}，要求≥{job.min_level}级"
    if reason == "region":
        return f"服务区域{'、'.join(tech.regions) or '无'}，不含{job.region}"
    if reason == "capacity":
        return full_text(tech.load, tech.offered, tech.capacity)
    if reason == "leave":
        day = local(when).date()
        lv = next(lv for lv in tech.leave if lv.covers(day))
        return f"请假{lv.start.isoformat()}至{lv.end.isoformat()}"
    if reason == "shift":
        t = local(when)
        shifts = "、".join(w.label() for w in tech.shifts) or "未排班"
        return f"{t:%m-%d %H:%M}不在班（班次：{shifts}）"
    raise ValueError(f"unknown filter {reason!r}")
