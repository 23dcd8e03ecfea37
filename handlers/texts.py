"""The bot's voice: every user-facing Chinese text, in one place."""

GREETING = "您好，我是工单助手。请直接描述遇到的问题，例如：“3号店咖啡机坏了，今天能来修吗 13812345678”。"
RECEIVED = "收到：{text}\n我们已记录您的消息，工单助理正在处理。"
EMPTY_MESSAGE = "没有看到文字内容，请用文字描述一下遇到的问题。"
TOO_LONG = "消息有点长，我们已收到全文。请再用一两句话概括最需要处理的问题。"
NON_TEXT_RECEIVED = "已收到您发送的{kind}。"
DATE = "{month}月{day}日"
DATE_TIME = "{month}月{day}日 {hm}"
KIND_DEFAULT = "消息"
KIND_NAMES = {"image": "图片", "voice": "语音", "video": "视频", "location": "位置", "link": "链接",
              "file": "文件", "mixed": "图文消息"}
CARD_CLICK_UNKNOWN = "这张卡片已过期或无法识别，请重新发起。"
SORRY_RETRY = "抱歉，系统暂时繁忙，您的消息已保存，我们会尽快处理。"

# -- chat intake (handlers/intake.py) ------------------------------------------------------
NOT_UNDERSTOOD = "抱歉，没能看懂这条消息。请用中文简单描述遇到的问题，例如：“3号店咖啡机坏了”。"
CATEGORY_NAMES = {"repair": "报修", "install": "安装", "return": "退换货", "complaint": "投诉",
                  "delivery": "配送", "invoice": "发票", "consult": "咨询", "other": "其他",
                  "followup": "回访"}
STATUS_NAMES = {"new": "已受理，待分派", "dispatched": "派单中", "accepted": "师傅已接单",
                "in_progress": "处理中", "pending_customer": "等待您的回复", "resolved": "已解决，待确认",
                "closed": "已关闭", "cancelled": "已取消", "reopened": "已重新打开"}
PRIORITY_NAMES = {"low": "低", "normal": "普通", "high": "高", "urgent": "紧急"}
SLOT_NAMES = {"place": "地点", "phone": "电话", "device": "设备", "time": "时间", "order": "订单号"}
ASK = {
    "place": "请问是哪家门店，或者详细地址？",
    "phone": "请留一个联系电话，方便师傅联系您。",
    "device": "请问是哪台设备出了问题？（如：空调、咖啡机、POS机）",
    "time": "希望什么时间上门？（如：明天下午、周六上午，或回复“尽快”）",
    "order": "请提供订单号。",
}
BAD_PHONE = "这个号码好像不完整，请发一个11位手机号或带区号的座机号。"
DRAFT_STARTED = "收到您的{category}：{text}\n{question}"
DRAFT_ADDED = "已补充：{text}\n{question}"
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
DRAFT_GONE = "这张确认单已处理或已过期，无需重复操作。"
TICKET_CREATED = "已为您创建工单 {number}\n{summary}\n我们会尽快安排，回复“进度”可随时查询。"
REPEAT_LINKED = "这个问题之前报修过（工单 {number}），已关联到新工单，师傅会一并查看。"
DUPLICATE_LINKED = "这个问题已在工单 {number} 中处理（{status}），已把您的补充加到该工单，不再重复建单。"
SUMMARY_LINES = {"category": "类型", "device": "设备", "place": "地点", "phone": "电话",
                 "time": "时间", "order": "订单号", "description": "描述"}
TIME_ASAP = "尽快"
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
CONFIRMED_CLOSED = "感谢确认，工单 {number} 已关闭。欢迎对本次服务打分（1-5分）。"
NOTHING_TO_CONFIRM = "目前没有等待您确认的工单。"
NO_RATABLE = "没有找到可以评价的工单，谢谢您的反馈。"
RATED = "感谢您的评价（{score}分），我们会继续改进。"
RATED_LOW = "很抱歉给您带来不好的体验（{score}分）。已安排专人回访（工单 {number}），会尽快联系您。"
FOLLOWUP_TITLE = "回访：{number} 评分{score}分"
ATTACHED_DRAFT = "已收到{kind}，会附在这次报修里。"
ATTACHED_TICKET = "已收到{kind}，已补充到工单 {number}。"
LOCATION_USED = "已收到位置：{label}"
TICKET_CONFLICT = "工单 {number} 刚刚有其他更新，请稍后再试一次。"
ILLEGAL_TRANSITION_DEFAULT = "工单 {number} 当前状态为“{status}”，不能改为“{to}”。"
ILLEGAL_TRANSITION = {
    "cancelled": "工单 {number} 当前{status}，已不能取消。如需停止服务，请联系师傅或客服。",
    "closed": "工单 {number} 当前{status}，还不能确认完成。",
    "reopened": "工单 {number} 当前{status}，无需重新打开。",
}
RATE_ASK = "感谢反馈！方便的话请给本次服务打个分（1-5分）。"

# -- dispatch (handlers/dispatch.py) -------------------------------------------------------
OFFER_TITLE = "新派单：{title}"
OFFER_TITLE_GRAB = "抢单：{title}"
OFFER_DESC = "工单 {number}，{minutes}分钟内未响应将转给其他师傅"
OFFER_DESC_GRAB = "工单 {number}，同时推送给{count}位师傅，先抢先得"
OFFER_ROWS = {"place": "地点", "time": "时间", "distance": "距离", "priority": "优先级",
              "device": "设备"}
OFFER_LABELS = {"accept": "接单", "decline": "拒单", "transfer": "转派", "grab": "抢单"}
OFFER_TEXT = ("新派单 {number}：{title}，{place}{distance}。\n"
              "请在{minutes}分钟内点卡片上的按钮，看不到卡片时回复“接单 {number}”或“拒单 {number}”。")
OFFER_TEXT_GRAB = ("抢单 {number}：{title}，{place}{distance}。先抢先得，"
                   "点卡片上的“抢单”，看不到卡片时回复“接单 {number}”。")
DISTANCE_KM = "，距您约{km:.1f}公里"
KM = "{km:.1f}公里"
HOURS = "{n}小时"
MINUTES = "{n}分钟"
LIST_SEP = "、"
FILTERED_COUNT = "{why}{n}人"
NO_TECHNICIANS = "还没有登记技术员"
PLACE_UNKNOWN = "地址待确认"
TIME_ASAP = "尽快"
CARD_SOURCE_DISPATCH = "工单助手·派单"
OFFER_DONE_LABELS = {"accepted": "已接单", "declined": "已拒单", "transferred": "已转派",
                     "timed_out": "已超时", "withdrawn": "已撤回"}
TAKEN_BY = "已被{name}接单"
TAKEN_BY_TEXT = "工单 {number} 已被{name}接单，无需再处理。"
OFFER_EXPIRED_TEXT = "工单 {number} 的派单已超时，无需再处理。"
OFFER_REASSIGNED_TEXT = "工单 {number} 已由调度另行指派，无需再处理。"
OFFER_WITHDRAWN_TEXT = "工单 {number} 已取消，派单已撤回。"
YOU_ACCEPTED = ("已接单：工单 {number}（{title}）。\n地点：{place}\n客户电话：{phone}\n时间：{time}\n"
                "出发、到达、完工时点卡片按钮，或直接回复“出发”“到达”“完工 工时1.5小时 配件 …”。")
YOU_DECLINED = "已拒单：工单 {number}，会转给其他师傅。"
NOT_YOUR_CARD = "这张卡片不是发给您的，无法操作。"
OFFER_STALE = {"accepted": "您已接过这单（工单 {number}），无需重复操作。",
               "declined": "您已拒过这单（工单 {number}）。",
               "transferred": "这单已由您转派（工单 {number}）。",
               "timed_out": "工单 {number} 的派单已超时，无需再处理。",
               "withdrawn": "工单 {number} 的派单已撤回（工单已取消或已改派）。",
               "lost": "手慢了，工单 {number} 已被{name}接单。"}
NO_OPEN_OFFER = "您目前没有待接的派单。"
TRANSFER_TITLE = "转派工单 {number}"
TRANSFER_DESC = "请选择接手的师傅，或交由系统安排"
TRANSFER_SYSTEM = "系统安排"
TRANSFER_TEXT = "好的，请在卡片上选择接手的师傅；看不到卡片时，回复“拒单 {number}”由系统安排。"
TRANSFER_OFFERED = "已转给{name}，等待其接单。"
TRANSFER_NOBODY = "没有其他符合条件的师傅可转，已交由系统安排。"
# what the customer is told
CUSTOMER_ACCEPTED = "工单 {number}：{name}已接单，{eta}。\n联系师傅：{contact}"
CUSTOMER_ETA = "预计约{minutes}分钟到达（按距离估算）"
CUSTOMER_ETA_APPOINTMENT = "将按您预约的时间 {time} 上门"
CUSTOMER_ETA_UNKNOWN = "师傅会尽快与您确认上门时间"
CONTACT_HOTLINE = "{hotline} 转 {extension}"
CONTACT_VIA_BOT = "师傅会按您留的电话与您联系"
CUSTOMER_DEPARTED = "工单 {number}：{name}已出发，{eta}。"
CUSTOMER_ARRIVED = "工单 {number}：{name}已到达现场。"
CUSTOMER_DONE = ("工单 {number}：{name}已完工（{work}）。\n"
                 "请您核对，确认完成请回复“确认”；如问题仍在，请直接描述，我们会继续处理。")
# the technician's work
WORK_TITLE = "进行中：{title}"
WORK_DESC = "工单 {number}"
WORK_LABELS = {"depart": "出发", "arrive": "到达", "done": "完工"}
WORK_DONE_LABEL = "已完工"
DEPARTED_OK = "已记录出发（工单 {number}），已通知客户。"
ARRIVED_OK = "已记录到达（工单 {number}），已通知客户。"
ASK_WORK_DETAILS = ("请回复完工信息，例如：“工时1.5小时 配件 压缩机电容1个35元”；"
                    "没有用配件请回复“工时1小时 无配件”。（工单 {number}）")
ASK_LABOUR = "还差工时，请回复例如“工时1.5小时”。（工单 {number}）"
DONE_OK = "已完工：工单 {number}，{work}。已通知客户确认。"
WORK_SUMMARY = "工时{hours}"
WORK_PARTS = "，配件：{parts}"
WORK_NO_PARTS = "，未用配件"
PART_QTY = "{name}×{qty}"
NO_ACTIVE_JOB = "您目前没有进行中的工单。"
WHICH_JOB = "您有多张进行中的工单（{numbers}），请在消息里带上工单号，例如“{kind} {first}”。"
WORK_WRONG_STAGE = "工单 {number} 当前{status}，不能{action}。"
ACTION_NAMES = {"depart": "出发", "arrive": "到达", "done": "完工", "accept": "接单",
                "decline": "拒单"}
PHOTO_ATTACHED = "照片已附到工单 {number}。"
PHOTO_WHICH = "照片未归档：您有多张进行中的工单（{numbers}），无法确定属于哪一单。"
TECHNICIAN_FALLBACK_NAME = "师傅"
LOCATION_UPDATED = "已更新您的位置，派单时按此计算距离。"
# escalation to the dispatcher on duty
ESCALATE_TITLE = "请人工派单：{number}"
ESCALATE_DESC = "{reason}"
ESCALATE_TEXT = ("工单 {number}（{title}，{place}）需要人工派单：{reason}\n"
                 "请点卡片选择师傅，或回复“指派 {number} 师傅姓名”。")
ESCALATE_TEXT_NO_CARD = ("工单 {number}（{title}，{place}）需要人工派单：{reason}\n"
                         "请回复“指派 {number} 师傅姓名”。")
ESCALATION_CANCELLED = "工单 {number} 已被客户取消，无需再派单。"
ESCALATE_REASONS = {"nobody": "没有符合条件的师傅（{detail}）",
                    "exhausted": "已依次推送{count}位师傅，均未接单",
                    "grab_expired": "抢单{minutes}分钟内无人接单",
                    "no_region": "工单地址不完整，无法确定服务区域",
                    "declined_all": "符合条件的师傅均已拒单或超时"}
ASSIGN_LABEL = "派给{name}"
ASSIGNED_BY = "{dispatcher}已将工单 {number} 指派给{name}。"
ASSIGNED_DONE = "已指派给{name}"
ASSIGN_NOT_DISPATCHER = "只有调度员可以指派工单。"
ASSIGN_ALREADY = "工单 {number} 已由{name}接单，无需再指派。"
ASSIGN_NOT_NEEDED = "工单 {number} 当前{status}，无需指派。"
ASSIGN_UNKNOWN_TECH = "没有找到师傅“{name}”，请核对姓名。"
ASSIGN_NO_TICKET = "没有找到工单 {number}。"
YOU_WERE_ASSIGNED = "{dispatcher}把工单 {number} 指派给了您。"
CANCELLED_TO_TECH = "工单 {number} 已被客户取消，无需上门。"
# 为什么派给他
WHY_NOT_ALLOWED = "派单原因仅对调度和管理人员开放。"
WHY_NONE = "工单 {number} 还没有派单记录。"
WHY_NO_TICKET = "请带上工单号，例如“为什么派给他 GD20261125-0001”。"
WHY_GRAB_WINNER = "最终由{name}抢到。"
WHY_MANUAL = "工单 {number} 由{dispatcher}人工指派给{name}。\n此前系统的排序如下：\n{record}"
TRANSFER_DONE_LABEL = "已转给{name}"
TRANSFER_SYSTEM_DONE = "已交系统安排"

# -- settlement in chat (handlers/settlement.py, handlers/settlement_wiring.py) --------------
SETTLE_CURRENCY = {"CNY": "¥"}
SETTLE_HEAD = "工单 {number} 结算单（{service}）"
SETTLE_TECH_HEAD = "工单 {number} 结算明细（{service}）"
SETTLE_BOOK = "计价依据：价目表 {book} 第{version}版，规则 {rule}"
SETTLE_LINE = "{n}. {name}{detail}：{amount}（占{share}）"
SETTLE_LINE_FROZEN = "{n}. {name}：优惠已暂停，本单未使用"
SETTLE_PART_NAME = "{name}（{part}）"
SETTLE_DETAIL = " {qty}{unit} × {rate}"
SETTLE_DETAIL_QTY = " {qty}{unit}"
SETTLE_DETAIL_PERCENT = " {rate}% × {base}"
SETTLE_UNITS = {"h": "小时", "km": "公里", "次": "次", "件": "件", "台": "台", "m": "米",
                "片": "片", "pack": "包"}
SETTLE_SUBTOTAL = "小计：{amount}"
SETTLE_TAX_EXCLUSIVE = "税额（{rate}%）：{amount}"
SETTLE_TAX_INCLUSIVE = "其中税额（{rate}%，已含在价格内）：{amount}"
SETTLE_TOTAL = "合计：{amount}"
SETTLE_HOW_CARD = "请点卡片上的“确认”或“异议”；看不到卡片时，回复“确认”，或回复“异议”并说明原因。"
SETTLE_HOW_TEXT = "费用无误请回复“确认”；如有异议，请回复“异议”并说明原因（例如：工时只有1小时）。"
SETTLE_TECH_BASIS = {"net": "服务净额（不含税）：{amount}", "gross": "服务金额（含税）：{amount}"}
SETTLE_TECH_SHARE = "您的分成：{amount}（占{percent}）"
SETTLE_TECH_HOW = ("请点卡片上的“确认”或“异议”；看不到卡片时，回复“确认账单 {number}”，"
                   "或回复“异议 {number}”并说明原因。")
SETTLE_CARD_TITLE = "工单 {number} 结算单"
SETTLE_CARD_DESC = "合计 {amount}，请确认"
SETTLE_CARD_TECH_DESC = "您的分成 {amount}，请确认"
SETTLE_CARD_ROWS = {"service": "服务", "total": "合计", "net": "净额", "share": "您的分成",
                    "more": "其他{n}项"}
SETTLE_CARD_LABELS = {"confirm": "确认", "dispute": "异议"}
SETTLE_CARD_DONE = {"confirm": "已确认", "dispute": "已提出异议", "superseded": "已更正，见新结算单"}
SETTLE_CARD_SOURCE = "工单助手·结算"
SETTLE_CONFIRMED = "已确认工单 {number} 的结算单（合计 {amount}），谢谢！"
SETTLE_TECH_CONFIRMED = "已确认工单 {number} 的结算，您的分成 {amount}。"
SETTLE_DISPUTED = "已收到您对工单 {number} 结算单的异议，已转财务核对，处理后会通知您。"
SETTLE_DISPUTE_ASK_WHY = ("已收到您对工单 {number} 结算单的异议，已转财务核对。"
                          "方便的话请回复“异议”并说明哪里不对（例如：工时只有1小时）。")
SETTLE_DISPUTE_MORE = "已把您的补充说明转给财务，处理后会通知您。"
SETTLE_DISPUTE_BY_CARD = "（点了卡片上的“异议”，尚未说明原因）"
SETTLE_ALREADY = {"confirmed": "您已确认过工单 {number} 的结算单，无需重复操作。",
                  "disputed": "您对工单 {number} 结算单的异议正在由财务核对，请耐心等待。"}
SETTLE_SUPERSEDED = "工单 {number} 的这张结算单已更正，请以最新的结算单为准。"
SETTLE_NOT_YOURS = "这张结算单不是发给您的，无法操作。"
SETTLE_PARTY_NAMES = {"customer": "客户", "technician": "技师"}
SETTLE_REVIEW_TO_FINANCE = ("结算异议 #{review}：工单 {number}，{party}（{who}）对结算单（合计 {amount}）"
                            "有异议：“{words}”\n"
                            "处理：python main.py settle review accept {review}（维持原单）"
                            "或 settle review correct {review} --hours …（更正）")
SETTLE_REVIEW_MORE_TO_FINANCE = "结算异议 #{review} 补充（工单 {number}，{party}）：“{words}”"
SETTLE_UNPRICED_TO_FINANCE = ("无法计价 #{review}：工单 {number}（{category}，{device}）已完工，"
                              "但{why}。\n请人工核价：python main.py settle review correct "
                              "{review} --service 服务名 …")
SETTLE_UNPRICED_WHY = {"no_service": "没有对应的价目服务（config/settlement.yaml 的 services）",
                       "no_report": "没有完工报告（工时、配件）",
                       "bad_report": "完工报告的数据有误（{detail}）",
                       "no_cost": "配件“{detail}”没有单价（师傅完工时未报价格）",
                       "no_rule": "价目表里没有适用的价格（{detail}）"}
SETTLE_UNPRICED_CUSTOMER = "工单 {number} 的费用明细正在核算，稍后发给您。"
SETTLE_DEVICE_UNKNOWN = "设备未填"
SETTLE_CORRECTED = "工单 {number} 的结算单已更正（第{revision}次更正），变化如下："
SETTLE_DIFF_ROW = "{name}：{old} → {new}（{delta}）"
SETTLE_DIFF_NONE = "无"
SETTLE_DIFF_TOTAL = "合计：{old} → {new}"
SETTLE_DIFF_SHARE = "您的分成：{old} → {new}"
SETTLE_DIFF_NOTE = "财务说明：{note}"
SETTLE_REVIEW_ACCEPTED = "经财务核对，工单 {number} 的结算单（合计 {amount}）无误，维持不变。"
SETTLE_GUARD_ADDRESS = ("优惠冻结：地址“{address}”在{days}天内取消了{count}次（上限{limit}次），"
                        "已暂停该地址的优惠活动。")
SETTLE_GUARD_REGION = ("优惠冻结：{region}已有{count}个地址因频繁取消被冻结（阈值{threshold}个），"
                       "已暂停该区域的优惠活动。")
