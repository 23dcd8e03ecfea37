"""Rule-based intent, category and urgency classification with weighted cues.

Each label has a list of ``(cue, weight)`` pairs. Multi-character cues are
matched as substrings of the normalised text; single-character cues (催, 修,
装) must be a whole jieba token, so 修 in 修好了 counts but not in 装修.
Fault phrases from the dictionaries (漏水, 不制冷…) count as a repair report
and set a minimum urgency. The highest scoring label wins; ties and empty
scores fall back as documented in docs/nlp.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

INTENTS: Final[tuple[str, ...]] = ("create", "query", "urge", "cancel", "confirm", "rate", "other")
CATEGORIES: Final[tuple[str, ...]] = (
    "repair", "install", "return", "complaint", "delivery", "invoice", "consult", "other",
)
URGENCIES: Final[tuple[str, ...]] = ("low", "normal", "high", "urgent")

Cues = tuple[tuple[str, float], ...]


def _cues(spec: str) -> Cues:
    """``"报修:2 维修 派人:1.5"`` -> (("报修", 2.0), ("维修", 1.0), ("派人", 1.5))."""
    out: list[tuple[str, float]] = []
    for item in spec.split():
        cue, _, weight = item.partition(":")
        out.append((cue, float(weight) if weight else 1.0))
    return tuple(out)


INTENT_CUES: Final[dict[str, Cues]] = {
    "create": _cues(
        "报修:2 维修 修一下 来修 修吗 修理 检修 派人 派个 安排 上门 来看看 看一下 看看:0.5 帮忙 麻烦:0.5 "
        "预约:1.5 约个 约一下 约下 怎么约:2 安装:1.5 装:1 加装 新装 装一 去安装:2 移机 拆装 增加一台:2 "
        "需要:0.5 申请:1 要求换:2 "
        "退货:2 退款:1.5 换货:2 换一台 换新 退回 能退:2 要退 想退 能安排:1.5 退掉 退换货:2 "
        "投诉:2.5 赔 说法 曝光 不像话:1.5 开票:2 开一张 补开 重开 红冲 要开 "
        "送货:1 配送:1 送错 补货 少了 勘测 量一下 登记 报个 开单 寄修 检查 处理:0.5 怎么办:1 "
        "坏:1 故障 不行 失灵 异响 耽误:1"
    ),
    "query": _cues(
        "进度:2.5 状态:2 什么状态:2.5 到哪:2.5 到哪一步:3 处理到:2 维修单:1 报修单:1 几点到:2 几点来 什么时候:1.5 上次:1 多久:1 多长时间:1.5 几天:1.5 "
        "请问:1.2 吗:0.6 ?:0.6 呢:0.4 多少钱:1.5 多少:0.8 怎么:0.6 怎么算 是否 有没有:1 能不能:0.3 "
        "查一下:2 查下:2 帮我查 帮忙看下:2.5 这个月报修:1.5 谁在跟 给我一下 电话多少 号码 出发了:2 还来吗:2 到了没 "
        "审核:1 通过了吗:2 定了吗:1.5 定了没 排期:1 哪些 哪里:1 在哪 保修:1 收费吗:1.5 收不收 收费:0.5 "
        "可以吗:0.3 是不是:0.5 成功了吗:2 有安排:1.5 出来了没:2 开好了吗:2 想知道:1.5 想问:1.5 "
        "教程 说明 适合 合适:1 会不会:1.5 几年 能不能接 怎么买 怎么回事:1 优惠:1.5 报修的:2 报的:1 "
        "取件:1 还是拒收:1.5 大概:0.5 单号多少:2 没有物流:1.5 寄过来:1 可以开:1.5 包安装:1.5 电话多少:1.5"
    ),
    "urge": _cues(
        "催:3 催一下:3 再催 催了 加急:2 加快:2 尽快:0.5 快点:2 快些 赶紧:1 抓紧 "
        "还没人来:3 还没来:3 还没人:2.5 没人来 没人管:1 怎么还没:3 还没修:2.5 还没送:2.5 还没到:2 "
        "到底:2 人呢:3 还送不送:3 等半天 等了:1.5 等通知 拖了:2 都第:2 第二次 好几次:1 很多次:1 三次电话 "
        "说好:1.5 天了:1 一周了:1.5 半个月了:2 给个准信:2 上点心:2 hurry:3 再问一次:3 还有多久:2.5 "
        "今天一定:1 今天必须:0.5 务必:0.5 已经报修:2.5 还是坏的:2 还是不能用:2 还是没:1.5 越来越:2 "
        "到现在:2 没解决:1.5 每天都:1 谁负责:2 马上派人:2"
    ),
    "cancel": _cues(
        "取消:5 撤销:3.5 撤回:3.5 撤了:3 不用来:3.5 不用修:3.5 不用派:3.5 不修了:3 不装了:3.5 不要了:2.5 "
        "别来了:3.5 关闭工单:3.5 关掉:2.5 不需要了:3 算了:2 暂停:2 误报:3 改天再约:2.5 自行修复:1.5 "
        "自己解决了:1.5 找了别人:2"
    ),
    "confirm": _cues(
        "确认:3 可以:1 好的:0.8 没问题:2 行:1 收到:2 ok:0.8 嗯嗯:1 同意:2.5 "
        "修好了:3 好了:1.5 已恢复:3 恢复了:2.5 恢复正常 正常了 运转正常 解决了:2 已签收:3 签收:1 收到了:2.5 "
        "就按:2 那就:1.5 在家等 等你们 我在家:1.5 我提前 提前下楼 结单:1.5 可以关了:2 可以走了:2 "
        "数量无误 没问题了 已经取走 完成:1"
    ),
    "rate": _cues(
        "好评:4 差评:4 五星:4 一星:4 两星:4 三星:4 四星:4 星:2 ⭐:4 满意:4 满分:3 打分 评价:3 点赞:3 "
        "点个赞:3 专业:1.5 靠谱:1.5 推荐:2 效率:1.5 效率很高:2.5 很耐心:2 细心:2 表扬 失望:3 被坑:2 stars:4 "
        "good service:3 态度好:1.5 态度超好:2 态度可以:2 利索:2 准时:1 很客气:2 很好看:2 就那样 "
        "一般般:3 一般:2 很负责:2 不满意:3 还行:1.5 辛苦了:0.5 👍:0.8 很及时:1.5"
    ),
    "other": _cues(
        "你好:0.6 您好:0.6 在吗:2 谢谢:0.6 哈哈:2 早上好:2 新年快乐:2 发错了:3 测试:2 hello:1 "
        "机器人:2 几点下班:2 天气:2 回头再:2 晚点再说:2 辛苦了:0.6 喂:2 哪个公司:2 是客服:1.5 新来的:1.5"
    ),
}

CATEGORY_CUES: Final[dict[str, Cues]] = {
    "repair": _cues(
        "报修:2 维修:1.5 修:1 修好:1.5 来修:1.5 修理:1.5 坏:1 故障:1 检修:1.5 师傅:0.3 工程师:0.3 配件:1 "
        "不制冷 不制热 漏水 异响 报错 死机 跳闸 工单:0.5 单子:0.5 主板:1 换主板:1"
    ),
    "install": _cues(
        "安装:2.5 装机:2 移机:2.5 拆装:2.5 装好:1.5 装上 加装:2.5 新装:2.5 装一:1.5 装个:1.5 来装:2 "
        "装的:1 装得:2 要装:2 还没装:2 装:1 不装了:2 布线:2 调试:1 调平:2 接电:1.5 勘测:1.5 量一下:1 开业:1 "
        "拆掉:1 增加一台:2 installation:2.5"
    ),
    "return": _cues(
        "退货:3 退款:2.5 换货:3 退换:3 换一台:2.5 换新的:2.5 退回:2.5 能退:2.5 退掉:2.5 退了:2 "
        "要退:2 退的:2 不想要:1.5 无理由:2 钱退:2 退钱 要求换:2.5 不要维修:2"
    ),
    "complaint": _cues(
        "投诉:6 态度极差 态度差:2 乱收费:3 赔偿:2.5 赔:1.5 曝光:2.5 12315:3 不像话:2.5 不认账:2 "
        "说法:1.5 不靠谱:1.5 打不通:1.5 私自收取:3 没给收据:2 划了:1.5 打坏了:2 服务真的不行:2"
    ),
    "delivery": _cues(
        "送货:3 配送:3 送到:2 送来:1 送过来:2 送错:3 物流:3 快递:2 运单:3 签收:2.5 发货:2.5 "
        "补货:2.5 到货:1 收货:2.5 还没送:3 送不送:3 取件:1 送货小哥:3 拒收:2.5 没到:1.5 "
        "订单:1.5 到哪了:1 包装完好:2"
    ),
    "invoice": _cues("发票:4 开票:4 普票:4 专票:4 税号:3 抬头:2 红冲:3"),
    "consult": _cues(
        "请问:1 多少钱:1.5 怎么用 教程:2 操作说明:2 操作手册:2 多久:1 保修几年:2 适合:2 合适:2 有没有:1 "
        "优惠:2 能不能:0.5 可以装在:2 原厂:2 延保:2 能效:2 售后网点:2 多少电:2 会不会:1.5 app:2 "
        "什么水:2 收费吗:2 收不收:2 怎么算:1.5 包安装:1"
    ),
}

URGENCY_CUES: Final[dict[str, Cues]] = {
    "urgent": _cues(
        "紧急:3 十万火急:3 马上派:3 马上来:3 请马上:3 立刻:2 冒烟:3 起火:3 着火:3 火花:3 漏电:3 "
        "煤气味:3 燃气味:3 塌:3 被电:3"
    ),
    "high": _cues(
        "急:2 尽快:1 加急:2 赶紧:2 今天必须:2 今天一定:2 今天得:2 务必:2 必须好:2 影响营业:2 损失:2 "
        "影响出品:2 收不了钱:2 排队:2 高峰:2 坏了要扔:2 东西都要坏:2 东西全坏:2 化了:2 货:1 "
        "一定要修好:2 中暑:2 受不了:2 不敢用:2 离线:2 接不了:2 法院:2 曝光:2 彻底坏了:2 "
        "态度极差:2 12315:2 退货退款:1 断货:2 来不及:2 天天:1 全店:1.5 "
        "都第:1 催:1 人呢:2 务必来人:2 滑倒:2 谁负责:2 再催:2 坏三次:2 一上午:2"
    ),
    "low": _cues(
        "不急:3 不着急:3 有空:1.5 下个月都行:3 慢慢来:3 不急的:3 先登记:2"
    ),
}

#: "显示E1", "报E05", "故障码 H1": an error code means a fault report
ERROR_CODE: Final = re.compile(r"(?:显示|报|代码|故障码|错误码)\s*[a-z]{1,2}-?\d{1,3}(?![\d])")
#: "报修三天了", "等了两天", "坏了一周": a long wait raises urgency
#: A count is tried only where its run of numerals begins (and read possessively): a search
#: used to start again at every digit of a long digit run (quadratic: 135 ms for 2,000 digits).
#: Both patterns start with a lookahead for the first character of any of their alternatives:
#: one test rejects the places where none can start, instead of trying each alternative there.
LONG_WAIT: Final = re.compile(
    r"(?=[两三四五六七八九十\d几都一1])"
    r"(?:(?:(?<![两三四五六七八九十\d])[两三四五六七八九十\d]++|几)(?:天|个?礼拜|个?星期|周)了"
    r"|都第[\d一二三四五六七八九十]++天|[一1]个?(?:礼拜|星期|周)了)"
)
QUESTION: Final = re.compile(r"(?=[?吗么呢能是多几什怎哪])(?:[?吗么呢]|能不能|是不是|多少|(?<!好)几[点天次个]|什么|怎么|哪)")
GREETING: Final = re.compile(r"^\W*(?:在吗|在嘛|在么|在不在|你好|您好|亲|hi|hello|哈喽)\W*$")
SERVICE_INTENTS: Final = frozenset({"create", "urge", "cancel", "confirm"})
_LOW_INTENTS: Final = frozenset({"rate", "other"})
_CAPPED_CATEGORIES: Final = frozenset({"consult", "invoice"})
_DONE_CUES: Final = ("好了", "恢复", "收到了", "签收", "解决", "已经取走", "无误", "没问题", "结单", "可以关", "完成")


@dataclass(frozen=True, slots=True)
class Classification:
    intent: str
    category: str
    urgency: str
    confidence: float
    scores: dict[str, float]


class _CueTable:
    """Cue lists (label -> cues) prepared once: per label the multi-character cues longest
    first (the order ``_score`` used to sort them in on every call), all of them indexed by
    their first two characters, so a message only tries the cues whose first bigram it
    contains: the message's bigrams are intersected with the index's keys (in C)."""

    __slots__ = ("_zeros", "_multi", "_by_bigram", "keys", "_single", "_single_cues")

    def __init__(self, lists: dict[str, Cues]) -> None:
        self._zeros = dict.fromkeys(lists, 0.0)
        self._multi: dict[str, tuple[tuple[str, float], ...]] = {}
        self._single: list[tuple[str, str, float]] = []
        by_bigram: dict[str, list[tuple[str, int]]] = {}
        for label, cues in lists.items():
            ordered = sorted(cues, key=lambda cw: -len(cw[0]))  # stable: ties keep list order
            self._single += [(label, c, w) for c, w in ordered if len(c) == 1]
            multi = tuple((c, w) for c, w in ordered if len(c) > 1)
            self._multi[label] = multi
            for i, (cue, _) in enumerate(multi):
                by_bigram.setdefault(cue[:2], []).append((label, i))
        self._by_bigram = {k: tuple(v) for k, v in by_bigram.items()}
        self.keys = frozenset(self._by_bigram)  # the bigrams that begin a multi-character cue
        self._single_cues = frozenset(c for _, c, _ in self._single)

    def scores(self, text: str, bigrams: frozenset[str], tokens: frozenset[str]) -> dict[str, float]:
        """Per label, the sum of the weights of its cues present; a cue inside a longer
        matched cue of the same list does not count again (修好了 does not also score 好了)."""
        totals = self._zeros.copy()
        if not tokens.isdisjoint(self._single_cues):
            for label, cue, weight in self._single:  # in list order: the same float sums
                if cue in tokens:
                    totals[label] += weight
        hits: dict[str, list[int]] = {}
        by_bigram = self._by_bigram
        for bg in bigrams & self.keys:
            for label, i in by_bigram[bg]:
                hits.setdefault(label, []).append(i)
        for label, found in hits.items():
            found.sort()
            multi = self._multi[label]
            claimed: list[tuple[int, int]] = []
            for i in found:
                cue, weight = multi[i]
                pos = text.find(cue)
                while pos >= 0:
                    end = pos + len(cue)
                    if not any(s <= pos and end <= e for s, e in claimed):
                        claimed.append((pos, end))
                        totals[label] += weight
                        break
                    pos = text.find(cue, pos + 1)
        return totals


def _bigrams(text: str) -> frozenset[str]:
    return frozenset(map(str.__add__, text, text[1:]))


def _score(cues: Cues, text: str, tokens: frozenset[str]) -> float:
    """Score of one cue list (kept for tests and one-off use; the classifier uses the
    prepared indexes below)."""
    return _CueTable({"x": cues}).scores(text, _bigrams(text), tokens)["x"]


_INTENT_TABLE: Final = _CueTable(INTENT_CUES)
_CATEGORY_TABLE: Final = _CueTable(CATEGORY_CUES)
_URGENCY_TABLE: Final = _CueTable(URGENCY_CUES)
#: the bigrams that begin a cue of any table: a message's other bigrams are not kept
_CUE_BIGRAMS: Final = _INTENT_TABLE.keys | _CATEGORY_TABLE.keys | _URGENCY_TABLE.keys
_INTENT_ORDER: Final = ("cancel", "rate", "urge", "confirm", "create", "query", "other")
_CATEGORY_ORDER: Final = ("complaint", "return", "invoice", "install", "delivery", "repair", "consult")


def _best(scores: dict[str, float], order: Sequence[str]) -> tuple[str, float]:
    """Highest score; ties go to the label listed first in ``order``."""
    label, top = order[0], scores.get(order[0], 0.0)
    for other in order[1:]:
        value = scores.get(other, 0.0)
        if value > top:
            label, top = other, value
    return label, top


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the cues say about one message whatever its intent, found once by :func:`evidence`;
    :func:`classify_evidence` then derives the labels for the rules' intent or for a given one
    (``analyze()`` needs both when the trained model disagrees with the rules)."""

    text: str
    bigrams: frozenset[str]  # those of the message's bigrams that begin a cue
    tokens: frozenset[str]
    faults: tuple[str, ...]  # urgencies of the fault phrases, "normal" for an error code
    category_scores: dict[str, float]  # read-only
    urgency_scores: dict[str, float]  # read-only
    question: bool
    long_wait: bool


def evidence(text: str, tokens: Sequence[str], fault_urgencies: Sequence[str] = ()) -> Evidence:
    """The intent-independent part of :func:`classify` for the normalised ``text``."""
    token_set = frozenset(tokens)
    bigrams = _CUE_BIGRAMS.intersection(map(str.__add__, text, text[1:]))
    faults = tuple(fault_urgencies)
    if ERROR_CODE.search(text):
        faults += ("normal",)
    cat_scores = _CATEGORY_TABLE.scores(text, bigrams, token_set)
    if faults:
        cat_scores["repair"] += 2.0
    return Evidence(
        text, bigrams, token_set, faults, cat_scores, _URGENCY_TABLE.scores(text, bigrams, token_set),
        QUESTION.search(text) is not None, LONG_WAIT.search(text) is not None,
    )


def classify(
    text: str,
    tokens: Sequence[str],
    fault_urgencies: Sequence[str] = (),
    has_device: bool = False,
    has_time: bool = False,
    intent: str | None = None,
) -> Classification:
    """Classify the normalised ``text`` given its jieba ``tokens``, the urgencies of the
    fault phrases found, and whether a device / an appointment time was recognised.

    With ``intent`` given (the trained model's decision, see ``nlp.intent_model``) the intent
    cues are not scored: only category and urgency are derived, for that intent, and
    ``confidence``/``scores`` are left to the caller (0.0 / empty). Without it the rules
    decide the intent too, as before the model (``python -m nlp.evaluate --rules``)."""
    return classify_evidence(evidence(text, tokens, fault_urgencies), has_device, has_time, intent)


def classify_evidence(
    ev: Evidence, has_device: bool = False, has_time: bool = False, intent: str | None = None,
) -> Classification:
    """:func:`classify` from the message's :class:`Evidence`."""
    text, faults, cat_scores = ev.text, ev.faults, ev.category_scores
    intent_scores: dict[str, float] = {}
    confidence = 0.0
    if intent is None:
        intent, confidence, intent_scores = _rule_intent(ev, has_device, has_time)

    category, cat_top = _best(cat_scores, _CATEGORY_ORDER)
    if intent == "other":
        # pre-sales, product, policy and how-to questions are consult; greetings, thanks,
        # acknowledgements and chit-chat are other (nlp/corpus/README.md)
        category = "consult" if ev.question and not GREETING.search(text) else "other"
    elif cat_top < 1.0:
        if intent in SERVICE_INTENTS:
            category = "repair"
        elif intent == "rate":
            category = "repair" if cat_scores["repair"] > 0 else "other"
        else:  # query
            category = "repair" if cat_scores["repair"] > 0 or faults else "consult"

    urg_scores = ev.urgency_scores
    level = max((URGENCIES.index(u) for u in faults), default=1)
    if urg_scores["urgent"] >= 2:
        level = max(level, 3)
    elif urg_scores["high"] >= 2 or (ev.long_wait and intent in ("urge", "create")):
        level = max(level, 2)
    if urg_scores["low"] >= 1.5 and level <= 1:
        level = 0
    elif intent in _LOW_INTENTS:
        level = 0
    elif category in _CAPPED_CATEGORIES:
        level = 0 if intent in ("create", "query") and level < 2 else min(level, 1)
    elif intent == "confirm" and any(cue in text for cue in _DONE_CUES):
        level = 0
    return Classification(intent, category, URGENCIES[level], confidence, intent_scores)


def _rule_intent(ev: Evidence, has_device: bool, has_time: bool) -> tuple[str, float, dict[str, float]]:
    """The weighted-cue intent of the rules: (intent, confidence, scores)."""
    intent_scores = _INTENT_TABLE.scores(ev.text, ev.bigrams, ev.tokens)
    if ev.question:
        intent_scores["query"] += 0.8
    if ev.long_wait:
        intent_scores["urge"] += 1.5
    if ev.faults:
        intent_scores["create"] += 1.5
    if has_device:
        intent_scores["create"] += 0.5 if ev.question else 1.0
    if has_time and intent_scores["confirm"] > 0:
        intent_scores["confirm"] += 0.5
    if max(v for k, v in intent_scores.items() if k != "create") < 1.0:
        # a message clearly about a return / complaint / install … is a request unless said otherwise
        intent_scores["create"] += 0.3 * max(v for k, v in ev.category_scores.items() if k != "consult")
    intent, top = _best(intent_scores, _INTENT_ORDER)
    if top < 0.9:
        intent = "other"
    positive = sum(v for v in intent_scores.values() if v > 0)
    if intent == "other" and intent_scores["other"] < 0.9:
        confidence = 1.0 if not ev.text.strip() else 0.5
    else:
        confidence = round(top / positive, 2)
    return intent, confidence, intent_scores
