"""What the doctor found: one ``Result`` per check, and the ``Report`` of them all — printed for a
person (✓ / ✗ / – with advice in Chinese and English), summarised in one log line at start, and
as JSON for ``/healthz?verbose=1``. Nothing here holds a secret: checks put only what a person may
read into a result (never a Secret, Token, EncodingAESKey or access_token)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from handlers.doctor.texts import TITLES, Msg

Status = Literal["ok", "fail", "skip"]
MARKS: dict[Status, str] = {"ok": "✓", "fail": "✗", "skip": "–"}


@dataclass(frozen=True)
class Result:
    """One check: ``detail`` says what was found; ``advice`` what to click or type to fix it."""

    id: str
    status: Status
    detail: Msg
    advice: tuple[Msg, ...] = ()

    @property
    def mark(self) -> str:
        return MARKS[self.status]

    def lines(self, lang: str = "both") -> list[str]:
        """``✗ 企业可信IP / Trusted IP: …`` and the advice lines under it."""
        zh_title, en_title = TITLES[self.id]
        zh, en = self.detail
        if lang == "zh":
            out = [f"{self.mark} {zh_title}：{zh}"]
        elif lang == "en":
            out = [f"{self.mark} {en_title}: {en}"]
        else:
            out = [f"{self.mark} {zh_title} / {en_title}: {zh}", f"      {en}"]
        for a_zh, a_en in self.advice:
            if lang in ("zh", "both"):
                out.append(f"    修复：{a_zh}")
            if lang in ("en", "both"):
                out.append(f"    Fix: {a_en}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "mark": self.mark,
                "title": {"zh": TITLES[self.id][0], "en": TITLES[self.id][1]},
                "detail": {"zh": self.detail[0], "en": self.detail[1]},
                "advice": [{"zh": zh, "en": en} for zh, en in self.advice]}


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)

    def add(self, result: Result) -> Result:
        self.results.append(result)
        return result

    def get(self, check_id: str) -> Result | None:
        return next((r for r in self.results if r.id == check_id), None)

    def passed(self, check_id: str) -> bool:
        r = self.get(check_id)
        return r is not None and r.status == "ok"

    @property
    def ok(self) -> bool:
        return not any(r.status == "fail" for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def render(self, lang: str = "both") -> str:
        head = {"zh": "企业微信接入体检", "en": "WeCom setup doctor"}.get(
            lang, "企业微信接入体检 / WeCom setup doctor")
        lines = [head, ""]
        for r in self.results:
            lines += r.lines(lang)
        n = {s: sum(r.status == s for r in self.results) for s in MARKS}
        zh, en = (("全部通过", "all passed") if self.ok else
                  ("有 ✗ 未通过：按「修复」操作后再运行 python main.py doctor",
                   "fix each ✗ as its Fix line says, then run python main.py doctor again"))
        verdict = {"zh": zh, "en": en}.get(lang, f"{zh} / {en}")
        lines += ["", f"✓ {n['ok']}  ✗ {n['fail']}  – {n['skip']}   {verdict}"]
        return "\n".join(lines)

    def summary(self) -> str:
        """One log line: the counts and each ✗ in English, short."""
        n = {s: sum(r.status == s for r in self.results) for s in MARKS}
        fails = [f"{r.id}: {r.detail[1]}" for r in self.results if r.status == "fail"]
        text = f"setup doctor: {n['ok']} ✓, {n['fail']} ✗, {n['skip']} –"
        if fails:
            text += " | " + " | ".join(f[:160] for f in fails)
            text += " | python main.py doctor shows how to fix each"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [r.as_dict() for r in self.results]}
