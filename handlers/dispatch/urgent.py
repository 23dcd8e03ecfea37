"""Urgent tickets (issue 14): "直接把任务派给最近3天响应最快的服务人员" — among the qualified
candidates (hard filters passed, ``min_score`` met), the one with the shortest median answer
time over the last ``RESPONSE_DAYS`` (pool.py) is offered first, and the offer's window is
``URGENT_WINDOW_SHARE`` of the category's ``answer_minutes``. Candidates with no answers in
those days come after those with some, in ranking order."""

from __future__ import annotations

from typing import Any

URGENT = "urgent"
URGENT_WINDOW_SHARE = 0.5


def fastest_first(chosen: list[Any], technicians: list[Any]) -> list[Any]:
    """``chosen`` (ranked candidates) reordered by response speed, ties by rank."""
    median = {t.id: t.response_median_s for t in technicians}

    def key(c: Any) -> tuple[bool, float, int]:
        m = median.get(c.tech_id)
        return (m is None, m if m is not None else 0.0, c.rank)

    return sorted(chosen, key=key)
