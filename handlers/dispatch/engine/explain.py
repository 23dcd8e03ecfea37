"""Chinese explanations from a decision record: answers "为什么派给他"."""

from __future__ import annotations

from typing import Any, Mapping

from .config import PARTS
from .filters import FILTER_ZH, FILTERS, load_text
from .record import Candidate, DispatchDecision

PART_ZH = {"distance": "距离", "skill": "技能", "load": "负载", "response": "接单速度",
           "rating": "评分", "fairness": "今日派单量"}
_LIST_NAMES_UP_TO = 3  # name individual rejected technicians when a filter removed this few


def _km(x: float) -> str:
    return f"{x:.1f}公里"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}秒"
    return f"{seconds / 60:.0f}分钟" if seconds < 3600 else f"{seconds / 3600:.1f}小时"


def _rating(r: float | None) -> str:
    return "暂无评分" if r is None else f"评分{r:.1f}"


UNLOCATED_ZH = "地址未定位，距离不计（按中性分）"


def describe_part(part: str, c: Candidate, skill_label: str) -> str:
    f = c.facts
    if part == "distance":
        if f.distance_km is None:  # the job has no coordinates
            return UNLOCATED_ZH
        where = "" if f.location_source == "last_known" else "（按常驻地）"
        return f"距离{_km(f.distance_km)}{where}"
    if part == "skill":
        return f"{skill_label}技能{f.skill_level}级"
    if part == "load":
        return load_text(f.load, f.offered, f.capacity)
    if part == "response":
        if f.response_median_s is None:
            return "近3天无接单记录"
        return f"近3天接单中位用时{_duration(f.response_median_s)}"
    if part == "rating":
        return _rating(f.rating)
    if part == "fairness":
        return f"今日已接{f.jobs_today}单"
    raise ValueError(part)


def reason_line(c: Candidate, skill_label: str) -> str:
    """'李师傅：距离2.1公里、空调技能4级、当前负载1/5、近3天接单中位用时8分钟、评分4.8、今日已接2单'"""
    return f"{c.name}：" + "、".join(describe_part(p, c, skill_label) for p in PARTS)


def compare_line(winner: Candidate, other: Candidate, skill_label: str) -> str:
    """Why ``other`` ranked below ``winner``: the parts it lost most on (and any it won)."""
    gaps = sorted(((winner.contributions[p] - other.contributions[p], p) for p in PARTS), reverse=True)
    worse = [(g, p) for g, p in gaps if g > 0.005][:2]
    better = [(g, p) for g, p in reversed(gaps) if g < -0.005][:1]
    lines = [f"{describe_part(p, other, skill_label)}（{winner.name}{describe_part(p, winner, skill_label)}）"
             for _, p in worse]
    text = f"{other.rank}. {other.name} 综合{other.total:.3f}，比{winner.name}低{winner.total - other.total:.3f}"
    if lines:
        text += "：主要差在" + "；".join(lines)
    else:
        text += "：各项接近"
        if winner.total == other.total:
            text += "，同分时按工号排序" if winner.facts.distance_km is None else "，同分时按距离、再按工号排序"
    if better:
        p = better[0][1]
        text += f"；虽然{PART_ZH[p]}更好（{describe_part(p, other, skill_label)}）"
    return text


def _rejections(d: DispatchDecision) -> list[str]:
    out: list[str] = []
    by_filter: dict[str, list[str]] = {}
    for r in d.rejected:
        by_filter.setdefault(r.filter, []).append(f"{r.name}（{r.detail}）")
    for f in FILTERS:
        n = d.rejected_counts.get(f, 0)
        if not n:
            continue
        names = by_filter.get(f, [])
        tail = "：" + "、".join(names) if names and n <= _LIST_NAMES_UP_TO else ""
        out.append(f"  {FILTER_ZH[f]} {n}人{tail}")
    return out


def _when(at: Any) -> str:
    """The job's time as stored (ISO text) or 尽快 when the customer gave none."""
    return str(at)[:16].replace("T", " ") if at else "尽快"


def explain(record: DispatchDecision | Mapping[str, Any]) -> str:
    """The full answer to "为什么派给他", from a decision or its ``to_dict()`` form."""
    d = record if isinstance(record, DispatchDecision) else DispatchDecision.from_dict(record)
    job, label = d.job, d.skill_label
    head = (f"工单{job['id']}（{d.category_label or '未分类'}，需{label}技能≥{job['min_level']}级，"
            f"区域{job['region']}，时间{_when(job.get('at'))}）")
    total_rejected = sum(d.rejected_counts.values())
    lines: list[str] = []
    if not d.candidates:
        lines.append(f"{head}：无人可派。共{d.pool_size}位师傅，全部被以下条件排除：")
        lines += _rejections(d)
        return "\n".join(lines)
    best = d.candidates[0]
    if d.mode == "grab":
        names = "、".join(c.name for c in d.candidates)
        lines.append(f"{head}：抢单模式，推送给{len(d.candidates)}位师傅（{names}），先接先得。")
    else:
        lines.append(f"{head}：派给{best.name}。")
    eta = "" if best.facts.eta_min is None else f"，预计约{best.facts.eta_min}分钟到达"
    lines.append(f"原因：{reason_line(best, label)}；综合得分{best.total:.3f}（满分1），"
                 f"在{d.eligible_count}位符合条件的师傅中排第1{eta}。")
    if best.facts.distance_km is None:
        neutral = d.normalisation.get("distance_unknown", 0.5)
        lines.append(f"工单地址未定位（无坐标），距离一项对所有师傅均按中性分{neutral:g}计，不估算到达时间。")
    elif best.facts.location_source == "home":
        age = best.facts.location_age_h
        why = "无最近定位" if age is None else f"最近定位已是{age:.1f}小时前，超过{d.location_fresh_hours:g}小时"
        lines.append(f"距离按常驻地计算（{why}）。")
    w_sum = sum(d.weights.values())
    parts = "、".join(f"{PART_ZH[p]}{best.contributions[p]:.3f}/{d.weights[p] / w_sum:.2f}" for p in PARTS)
    lines.append(f"得分构成（得分/该项满分）：{parts}。")
    if len(d.candidates) > 1:
        lines.append("其他候选：")
        lines += ["  " + compare_line(best, c, label) for c in d.candidates[1:]]
    if total_rejected:
        lines.append(f"未参与排序{total_rejected}人：")
        lines += _rejections(d)
    return "\n".join(lines)
