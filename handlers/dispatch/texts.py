"""What dispatch says to technicians, dispatchers and customers (handlers/dispatch/)."""

from handlers.voice import (  # noqa: F401 — shared words this feature says too
    DATE_TIME, CARD_CLICK_UNKNOWN, STATUS_NAMES, PRIORITY_NAMES, DRAFT_GONE)

TIME_ASAP = "尽快"
OFFER_TITLE = "新派单：{title}"
OFFER_TITLE_GRAB = "抢单：{title}"
OFFER_DESC = "工单 {number}，{minutes}分钟内未响应将转给其他师傅"
OFFER_DESC_GRAB = "工单 {number}，同时推送给{count}位师傅，先抢先得"
OFFER_ROWS = {"place": "地点", "time": "时间", "distance": "距离", "priority": "优先级",
              "device": "设备", "site": "现场", "customer": "客户"}
#: before they go: the floor and notes, the customer's history, a repeat problem's last fix
#: (kept on the ticket by handlers/customers at ticket_created)
SITE_TEXT = "现场：{site}"
CUSTOMER_TEXT = "客户：{summary}"
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
CARD_SOURCE_DISPATCH = "工单助手·派单"
OFFER_DONE_LABELS = {"accepted": "已接单", "declined": "已拒单", "transferred": "已转派",
                     "timed_out": "已超时", "withdrawn": "已撤回"}
TAKEN_BY = "已被{name}接单"
TAKEN_BY_TEXT = "工单 {number} 已被{name}接单，无需再处理。"
OFFER_EXPIRED_TEXT = "工单 {number} 的派单已超时，无需再处理。"
OFFER_REASSIGNED_TEXT = "工单 {number} 已由调度另行指派，无需再处理。"
OFFER_WITHDRAWN_TEXT = "工单 {number} 已取消，派单已撤回。"
YOU_ACCEPTED = ("已接单：工单 {number}（{title}）。\n地点：{place}\n客户电话：{phone}\n时间：{time}\n"
                "出发、到达、完工时点卡片按钮，或直接回复“出发”“到达”“完工 工时1.5小时 配件 水泵1个180元”"
                "（每个配件写数量和单价；没用配件写“无配件”）。")
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
WORK_TITLE = "进行中：{title}"
WORK_DESC = "工单 {number}"
WORK_LABELS = {"depart": "出发", "arrive": "到达", "done": "完工"}
WORK_DONE_LABEL = "已完工"
DEPARTED_OK = "已记录出发（工单 {number}），已通知客户。"
ARRIVED_OK = "已记录到达（工单 {number}），已通知客户。"
#: a 微信客服 customer's send allowance is kept for 完工 and the statement (handlers/notify.py)
DEPARTED_NOT_TOLD = "已记录出发（工单 {number}）。客户这次不会收到通知（微信客服的发送次数留给完工和结算单），客户可回复“进度”查看。"
ARRIVED_NOT_TOLD = "已记录到达（工单 {number}）。客户这次不会收到通知（微信客服的发送次数留给完工和结算单），客户可回复“进度”查看。"
ASK_WORK_DETAILS = ("请回复完工信息：工时，和用了哪些配件（每个配件写数量和单价，结算要用），例如："
                    "“工时1.5小时 配件 水泵1个180元，密封圈2个每个5元”；"
                    "没有用配件请回复“工时1小时 无配件”。（工单 {number}）")
ASK_LABOUR = "还差工时，请回复例如“工时1.5小时”。（工单 {number}）"
ASK_PARTS = ("还差配件：用了配件请回复例如“配件 水泵1个180元”（每个配件写数量和单价）；"
             "没有用配件请回复“无配件”。（工单 {number}）")
DONE_OK = "已完工：工单 {number}，{work}。已通知客户确认。"
WORK_SUMMARY = "工时{hours}"
WORK_PARTS = "，配件：{parts}"
WORK_NO_PARTS = "，未用配件"
PART_QTY = "{name}×{qty}"
PART_PRICED = "{name}×{qty}（单价{cost}元）"
PART_UNPRICED = "{name}×{qty}（未报单价）"
NO_ACTIVE_JOB = "您目前没有进行中的工单。"
WHICH_JOB = "您有多张进行中的工单（{numbers}），请在消息里带上工单号，例如“{kind} {first}”。"
WORK_WRONG_STAGE = "工单 {number} 当前{status}，不能{action}。"
ACTION_NAMES = {"depart": "出发", "arrive": "到达", "done": "完工", "accept": "接单",
                "decline": "拒单"}
PHOTO_ATTACHED = "照片已附到工单 {number}。"
PHOTO_WHICH = "照片未归档：您有多张进行中的工单（{numbers}），无法确定属于哪一单。"
TECHNICIAN_FALLBACK_NAME = "师傅"
LOCATION_UPDATED = "已更新您的位置，派单时按此计算距离。"
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
ASSIGNED_BY = "已将工单 {number} 指派给{name}。"  # to the dispatcher who did it
ASSIGNED_DONE = "已指派给{name}"
ASSIGN_NOT_DISPATCHER = "只有调度员可以指派工单。"
ASSIGN_ALREADY = "工单 {number} 已由{name}接单，无需再指派。"
ASSIGN_NOT_NEEDED = "工单 {number} 当前{status}，无需指派。"
ASSIGN_UNKNOWN_TECH = "没有找到师傅“{name}”，请核对姓名。"
ASSIGN_NO_TICKET = "没有找到工单 {number}。"
YOU_WERE_ASSIGNED = "{dispatcher}把工单 {number} 指派给了您。"
CANCELLED_TO_TECH = "工单 {number} 已被客户取消，无需上门。"
WHY_NOT_ALLOWED = "派单原因仅对调度和管理人员开放。"
WHY_NONE = "工单 {number} 还没有派单记录。"
WHY_NO_TICKET = "请带上工单号，例如“为什么派给他 GD20261125-0001”。"
WHY_GRAB_WINNER = "最终由{name}抢到。"
WHY_MANUAL = "工单 {number} 由{dispatcher}人工指派给{name}。\n此前系统的排序如下：\n{record}"
TRANSFER_DONE_LABEL = "已转给{name}"
TRANSFER_SYSTEM_DONE = "已交系统安排"
