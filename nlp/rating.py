"""Satisfaction scores 1–5 from chat text: "5分", "四星", "⭐⭐⭐", "非常满意", "差评" …

Pure; returns ``None`` when the text gives no score.
"""

from __future__ import annotations

import re
from typing import Final

_NUM: Final = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "1": 1, "2": 2, "3": 3,
               "4": 4, "5": 5, "１": 1, "２": 2, "３": 3, "４": 4, "５": 5}
_SCORE: Final = re.compile(r"(?<![0-9０-９.])([1-5１-５一二两三四五])\s*(?:分|星|颗星)")
_STARS: Final = re.compile(r"[⭐★]{1,5}")
#: longest first: 非常满意 before 满意, 不满意 before 满意
_WORDS: Final = (("非常不满意", 1), ("很不满意", 1), ("非常满意", 5), ("很满意", 5), ("超级满意", 5),
                 ("不太满意", 2), ("不满意", 2), ("差评", 1), ("太差", 1), ("很差", 1), ("失望", 2),
                 ("好评", 5), ("满分", 5), ("满意", 4), ("一般般", 3), ("一般", 3), ("还行", 3),
                 ("还可以", 4), ("不错", 4))


_BARE: Final = re.compile(r"^[1-5１-５][。.!！]?$")  # "5" answering "请打分（1-5分）"


def parse_score(text: str) -> int | None:
    t = text.strip()
    if _BARE.match(t):
        return _NUM[t[0]]
    if m := _SCORE.search(t):
        return _NUM[m.group(1)]
    if m := _STARS.search(t):
        return len(m.group(0))
    for word, score in _WORDS:
        if word in t:
            return score
    return None
