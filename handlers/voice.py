"""The bot's shared voice: Chinese words more than one feature says (names of statuses,
categories and priorities, dates, the greeting and the fallback answers). Each feature keeps
its own sentences in its ``texts.py``; nothing user-facing is written inline in logic."""

from datetime import datetime

from models.types import LOCAL_TZ

EMPTY_MESSAGE = "没有看到文字内容，请用文字描述一下遇到的问题。"
TOO_LONG = "消息有点长，我们已收到全文。请再用一两句话概括最需要处理的问题。"
DATE = "{month}月{day}日"
DATE_TIME = "{month}月{day}日 {hm}"
KIND_DEFAULT = "消息"
KIND_NAMES = {"image": "图片", "voice": "语音", "video": "视频", "location": "位置", "link": "链接",
              "file": "文件", "mixed": "图文消息"}
CARD_CLICK_UNKNOWN = "这张卡片已过期或无法识别，请重新发起。"
CATEGORY_NAMES = {"repair": "报修", "install": "安装", "return": "退换货", "complaint": "投诉",
                  "delivery": "配送", "invoice": "发票", "consult": "咨询", "other": "其他",
                  "followup": "回访"}
STATUS_NAMES = {"new": "已受理，待分派", "dispatched": "派单中", "accepted": "师傅已接单",
                "in_progress": "处理中", "pending_customer": "等待您的回复", "resolved": "已解决，待确认",
                "closed": "已关闭", "cancelled": "已取消", "reopened": "已重新打开"}
PRIORITY_NAMES = {"low": "低", "normal": "普通", "high": "高", "urgent": "紧急"}
DRAFT_GONE = "这张确认单已处理或已过期，无需重复操作。"
TICKET_CONFLICT = "工单 {number} 刚刚有其他更新，请稍后再试一次。"
ILLEGAL_TRANSITION_DEFAULT = "工单 {number} 当前状态为“{status}”，不能改为“{to}”。"
ILLEGAL_TRANSITION = {
    "cancelled": "工单 {number} 当前{status}，已不能取消。如需停止服务，请联系师傅或客服。",
    "closed": "工单 {number} 当前{status}，还不能确认完成。",
    "reopened": "工单 {number} 当前{status}，无需重新打开。",
}


def local_when(t: datetime, precision: str | None = None) -> str:
    """A moment as the bot says it, in Shanghai: 12月2日 14:00, or only 12月2日 when the person
    named only the day (``precision`` "date", as intake stores it in ``ticket.fields``): such
    an appointment is kept at a default hour (nlp/timeexpr.py) that nobody chose."""
    t = t.astimezone(LOCAL_TZ)
    if precision == "date":
        return DATE.format(month=t.month, day=t.day)
    return DATE_TIME.format(month=t.month, day=t.day, hm=f"{t:%H:%M}")
