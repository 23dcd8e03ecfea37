"""What chat intake says (handlers/intake/)."""

from handlers.voice import (  # noqa: F401 — shared words this feature says too
    DATE_TIME, KIND_DEFAULT, KIND_NAMES, CARD_CLICK_UNKNOWN, CATEGORY_NAMES, STATUS_NAMES,
    PRIORITY_NAMES, DRAFT_GONE)

NOT_UNDERSTOOD = "抱歉，没能看懂这条消息。请用中文简单描述遇到的问题，例如：“3号店咖啡机坏了”。"
ASK = {
    "place": "请问是哪家门店，或者详细地址？",
    "phone": "请留一个联系电话，方便师傅联系您。",
    "device": "请问是哪台设备出了问题？（如：空调、咖啡机、POS机）",
    "time": "希望什么时间上门？（如：明天下午、周六上午，或回复“尽快”）",
    "order": "请提供订单号。",
}
# a store the report named that the bot has no address for
ASK_STORE_ADDRESS = "请问{store}的详细地址是？（例如：上海市黄浦区南京东路100号）"
BAD_PHONE = "这个号码好像不完整，请发一个11位手机号或带区号的座机号。"
DRAFT_STARTED = "收到您的{category}：{text}\n{question}"
DRAFT_ADDED = "已补充：{text}\n{question}"
STILL_NEEDED = "还差一项才能建单：{question}"
CONFIRM_SUMMARY = "请核对工单信息：\n{summary}"
CONFIRM_BY_TEXT = "信息无误请回复“确认”，需要修改请回复“修改”，不需要了请回复“取消”。"
CONFIRM_BY_CARD = "请点击卡片上的按钮确认；看不到卡片时，直接回复“确认”、“修改”或“取消”即可。"
CARD_TITLE = "请确认{category}工单"
CARD_DESC = "确认后我们会尽快安排处理"
CARD_LABELS = {"confirm": "确认", "edit": "修改", "cancel": "取消"}
CARD_DONE_LABELS = {"confirm": "已确认", "edit": "修改中", "cancel": "已取消"}
CARD_SOURCE = "工单助手"
EDIT_PROMPT = "好的，请直接发送要修改的内容（如新的地址、电话或时间），改完我会再请您确认。"
DRAFT_CANCELLED = "好的，已取消，这次不创建工单。有需要随时找我。"
TICKET_CREATED = "已为您创建工单 {number}\n{summary}\n我们会尽快安排，回复“进度”可随时查询。"
REPEAT_LINKED = "这个问题之前报修过（工单 {number}），已关联到新工单，师傅会一并查看。"
DUPLICATE_LINKED = "这个问题已在工单 {number} 中处理（{status}），已把您的补充加到该工单，不再重复建单。"
SUMMARY_LINES = {"category": "类型", "device": "设备", "place": "地点", "phone": "电话",
                 "time": "时间", "order": "订单号", "description": "描述"}
SUMMARY_ROW = "{label}：{value}"
NO_TICKET = "没有查到您的工单。如需报修，请直接描述问题。"
QUERY_RESULT = "工单 {number}（{title}）\n状态：{status}\n处理人：{assignee}\n预计：{eta}"
NO_ASSIGNEE = "暂未指派"
ETA_APPOINTMENT = "按您预约的时间 {time}"
ETA_BY = "{time} 前上门"
ETA_NONE = "—"
URGED = "已为您催促：工单 {number} 优先级已提升为“{priority}”，主管已收到提醒，会尽快跟进。"
URGED_MAX = "已为您催促：工单 {number} 已是最高优先级，主管已收到提醒，会尽快跟进。"
URGE_TO_SUPERVISOR = "催单提醒：工单 {number}（{title}）客户第 {count} 次催促，优先级：{priority}，状态：{status}。"
CANCELLED = "工单 {number} 已取消。"
# a bare 取消 / 改到… with several tickets open: which one (nothing changes until they say)
WHICH_TICKET = "您有{count}张未完成的工单，要{action}哪一张？\n{tickets}\n请带上工单号再发一次，例如“{example}”。"
WHICH_TICKET_LINE = "{number}（{title}，{status}）"
WHICH_CANCEL, WHICH_CANCEL_EXAMPLE, WHICH_CHANGE = "取消", "取消 {number}", "修改"
CONFIRMED_CLOSED = "感谢确认，工单 {number} 已关闭。欢迎对本次服务打分（1-5分）。"
NOTHING_TO_CONFIRM = "目前没有等待您确认的工单。"
NO_RATABLE = "没有找到可以评价的工单，谢谢您的反馈。"
RATED = "感谢您的评价（{score}分），我们会继续改进。"
RATED_LOW = "很抱歉给您带来不好的体验（{score}分）。已安排专人回访（工单 {number}），会尽快联系您。"
FOLLOWUP_TITLE = "回访：{number} 评分{score}分"
ATTACHED_DRAFT = "已收到{kind}，会附在这次报修里。"
ATTACHED_TICKET = "已收到{kind}，已补充到工单 {number}。"
LOCATION_USED = "已收到位置：{label}"
RATE_ASK = "感谢反馈！方便的话请给本次服务打个分（1-5分）。"
DRAFT_CHANGED = "已把{field}改为：{value}\n{question}"
TICKET_CHANGED = "已把工单 {number} 的{field}改为：{value}。"
TICKET_CHANGED_TO_TECH = "工单 {number} 的{field}已改为：{value}（客户修改）。"
CHANGE_NOT_UNDERSTOOD = "没看懂新的{field}，请再写一次，例如：{example}"
CHANGE_EXAMPLES = {"time": "时间改成明天下午3点", "place": "地址改为上海市静安区南京西路1686号",
                   "phone": "电话改成13900000000", "device": "设备改成冰箱"}
CHANGE_NOT_ON_TICKET = ("工单 {number} 已经创建，{field}不能在这里修改。如报错了设备或门店，请回复“取消 {number}”"
                        "后重新报修。")
