"""What the customer-history feature says (the bot's voice for it)."""

SUMMARY_NEW = "新客户"
SUMMARY = "{tickets}次报修·{messages}条消息"
SUMMARY_RATING = "·评分{rating}"
SUMMARY_REPEAT = "·{days}天内重复"
REPEAT_LINE = ("重复报修：{ago} {number}（{title}）{status}。上次处理：{fix}{parts}")
REPEAT_AGO = {0: "今天", 1: "昨天"}  # calendar days back; more than one: REPEAT_DAYS_AGO
REPEAT_DAYS_AGO = "{days}天前"
REPEAT_PARTS = "；用件：{parts}"
REPEAT_NO_FIX = "未留处理说明"
SOLUTION_LINE = "参考方案「{title}」：{steps}"
SITE_LINE = "现场：{site}"
FLOOR = "{floor}楼"
HISTORY_HEAD = "客户 {number} 的历史（近{years}年）"
HISTORY_WHO = "联系电话：{phone}；渠道：{channels}"
HISTORY_TOTALS = ("报修{tickets}次，消息{messages}条，结算单{statements}张共¥{billed}，"
                  "退换货{returns}次，平均评分{rating}")
HISTORY_NONE = "此前没有工单。"
HISTORY_ROW = "· {date} {number} {title}（{status}）{extra}"
HISTORY_ROW_FIX = "：{fix}"
HISTORY_ROW_RATING = " 评分{rating}"
HISTORY_MORE = "……另有{n}张更早的工单"
NO_RATING = "—"
NO_PHONE = "未留"
NOT_FOUND = "没有找到工单 {number}。"
STAFF_ONLY = "客户历史只对员工开放。"
CHANNELS = {"kf": "微信客服", "app": "企业微信", "aibot": "智能机器人"}
STATUS = {"new": "待处理", "dispatched": "派单中", "accepted": "已接单", "in_progress": "处理中",
          "pending_customer": "待客户", "resolved": "已完工", "closed": "已关闭",
          "cancelled": "已取消"}
