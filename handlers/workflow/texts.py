"""What the workflow says to people (Chinese) — owners, approvers, applicants, customers."""

CARD_SOURCE = "工单流程"
NODE_TITLE = "待办：{node} · {number}"
NODE_DESC = "{title}"
NODE_LABELS = {"done": "完成", "transfer": "转交"}
NODE_ROWS = {"category": "类型", "place": "门店/地址", "phone": "电话", "description": "描述",
             "node": "环节", "flow": "流程"}
NODE_TEXT = ("【待办】工单 {number}（{category}）需要您处理：{node}\n{rows}\n"
             "处理完请回复“完成 {number}”（可加备注），转给同事请回复“转交 {number} 姓名”。")
NODE_PHOTOS = "客户照片（{n}张）：\n{urls}"
NODE_STANDIN = "（{rule}暂无人选，由您代为处理）"
APPROVAL_STANDIN = "（{rule}暂无人选，由您代为审批）"
NODE_DONE_BY_CARD = "已完成：{node}"
NODE_DONE = "已记录：工单 {number} 的“{node}”已完成。{next}"
NODE_NEXT = "下一步：{nodes}。"
FLOW_COMPLETE = "流程已全部完成。"
NODE_NOT_YOURS = "工单 {number} 目前没有等您处理的环节。"
NODE_TRANSFERRED = "已把工单 {number} 的“{node}”转交给{name}。"
NODE_TRANSFERRED_TO = "{who}把工单 {number} 的“{node}”转交给您。"
NO_SUCH_PERSON = "没有找到同事“{name}”，请写全名，例如：转交 {number} 王经理。"
NO_TICKET = "没有找到工单 {number}，请核对编号。"
NOT_ALLOWED_INSERT = "只有主管、经理、调度或总监可以给工单加环节。"
INSERT_UNKNOWN = "不认识“加{word}”。可以加的环节：{known}。例如：加质检 {number}"
INSERTED = "已在工单 {number} 的“{after}”之后加入“{node}”，负责人：{owners}，轮到时会通知。正在进行的工作不受影响。"
INSERTED_NOW = "已给工单 {number} 加入“{node}”，与“{after}”同时进行，已通知负责人：{owners}。正在进行的工作不受影响。"
INSERTED_TO_TECHNICIAN = "工单 {number} 加入了“{node}”环节（{owners}），不影响您继续作业。"
INSERT_CLOSED = "工单 {number} 已{status}，不能再加环节。"
OPENED_FOR_CUSTOMER = "您的工单 {number} 已交给{who}处理，处理完会通知您。"
NEXT_FOR_CUSTOMER = "您的工单 {number} 进入下一步：{who}。"
CLOSED_FOR_CUSTOMER = "您的工单 {number} 已处理完毕。{result}{again}"
CLOSED_RESULT = "处理结果：{notes}。"
AGAIN = "如还有问题，直接回复即可。"
AGAIN_GROUP = "如还有问题，请@我说明。"
TICKET_ENDED = "工单已{status}。"
NODE_BESIDE = "同时进行中：{nodes}。"
NODE_CANCELLED = "工单 {number} 已取消，“{node}”无需再处理。"

# approvals
SYSTEM_APPLICANT = "工单流程（按模板自动提交）"
APPROVAL_TITLE = "审批：{name} · {number}"
APPROVAL_LABELS = {"approve": "同意", "reject_price": "驳回:价格偏高",
                   "reject_plan": "驳回:方案不合理", "reject_other": "驳回:其他原因",
                   "transfer": "转交"}
CANNED_REASONS = {"reject_price": "价格偏高", "reject_plan": "方案不合理"}
APPROVAL_TEXT = ("【审批】{name}：工单 {number}\n{summary}\n申请人：{applicant}\n"
                 "同意请回复“同意 {number}”，驳回请回复“驳回 {number} 原因”。")
APPROVAL_REASON_ASK = "请直接回复驳回工单 {number} 的原因（一句话即可）。"
APPROVAL_APPROVED_LABEL = "已同意"
APPROVAL_REJECTED_LABEL = "已驳回：{reason}"
APPROVAL_DONE_BY_OTHER = "已由{who}处理"
APPROVAL_NOT_YOURS = "工单 {number} 目前没有等您审批的事项。"
APPROVAL_STEP_PASSED = "您提交的{name}（工单 {number}）：{who}已同意，等待下一位审批人：{next}。"
APPROVAL_GRANTED = "您提交的{name}（工单 {number}）已审批通过（{who}）。"
APPROVAL_REJECTED = "您提交的{name}（工单 {number}）被{who}驳回，原因：{reason}。"
APPROVAL_RECORDED = "已{verb}：{name}（工单 {number}）。"
APPROVAL_REMIND = "【提醒】{name}（工单 {number}）仍在等您审批，已等待 {minutes} 分钟。"
APPROVAL_WECOM_SENT = "已提交企业微信审批（单号 {sp_no}），审批结果会通知您。"
APPROVAL_WECOM_FAILED = "企业微信审批提交失败，已改为机器人审批卡片发给审批人。"

# quotes
QUOTE_BAD = ("没看懂这份报价。请按“报价 {number} 项目 数量 单价”写，例如："
             "报价 {number} 更换压缩机1台3800元 工时2小时")
QUOTE_NO_TICKET = "请写上工单号，例如：报价 GD20261130-0001 更换压缩机1台3800元 工时2小时"
QUOTE_NOT_ALLOWED = "只有接单的师傅或调度可以给工单 {number} 报价。"
QUOTE_CLOSED = "工单 {number} 已{status}，不能再报价。"
QUOTE_LINE = "{name} {qty}×¥{price} = ¥{amount}"
QUOTE_SUMMARY = "{lines}\n小计 ¥{subtotal}{discount}\n合计 ¥{total}"
QUOTE_DISCOUNT = "\n{label} -¥{amount}"
QUOTE_WAITS_APPROVAL = "报价 ¥{total}（工单 {number} 第{version}版）需要{rule}，已提交给{approvers}，审批后自动发给客户。"
QUOTE_SENT_TO_CUSTOMER = "报价 ¥{total}（工单 {number} 第{version}版）已发给客户。"
QUOTE_APPROVED_SENT = "报价 ¥{total}（工单 {number} 第{version}版）已由{who}审批通过，已发给客户。"
QUOTE_REJECTED_TO_AUTHOR = ("报价（工单 {number} 第{version}版）被{who}驳回：{reason}。修改后重新发送"
                            "“报价 {number} …”即可。")
QUOTE_TO_CUSTOMER = ("您的工单 {number} 报价如下：\n{summary}\n同意请回复“接受报价”，不同意请回复"
                     "“拒绝报价”（可附原因）。")
QUOTE_NOT_DELIVERED = ("工单 {number} 的报价暂时发不到客户（微信客服限制：客户48小时内未发消息），"
                       "请电话告知客户，客户回复任意消息后可发“接受报价”。")
QUOTE_CARD_TITLE = "报价单 · {number}"
QUOTE_CARD_DESC = "合计 ¥{total}"
QUOTE_CARD_LABELS = {"accept": "接受报价", "decline": "拒绝报价"}
QUOTE_ACCEPTED = "已确认报价 ¥{total}（工单 {number}），完工后按此报价结算。"
QUOTE_ACCEPTED_FINANCE = "已确认报价 ¥{total}（工单 {number}），完工后由财务按此报价出结算单发给您核对。"
QUOTE_NEEDS_LABOUR_PRICE = ("价目表里没有这类工单的工时单价，报价不能只写工时。请把工时费写成金额，例如："
                            "报价 {number} 更换压缩机1台3800元 工时费240元")
QUOTE_ACCEPTED_STAFF = "客户已接受工单 {number} 的报价 ¥{total}。"
QUOTE_DECLINED = "已记录：您不接受工单 {number} 的报价。我们会联系您商量新的方案。"
QUOTE_DECLINED_STAFF = "客户拒绝了工单 {number} 的报价 ¥{total}{reason}。"
QUOTE_NONE_OPEN = "目前没有等您确认的报价。"

# the trail
TRAIL_HEAD = "工单 {number} 记录（{category}，{status}）："
TRAIL_FLOW = "流程：{flow}"
TRAIL_MORE = "……（中间 {older} 条未显示）"
TRAIL_NOT_STAFF = "工单记录只对员工开放。"
NODE_STATUS = {"waiting": "待开始", "active": "进行中", "done": "已完成", "skipped": "已跳过"}

TRANSFER_HOW = "请回复“转交 {number} 同事姓名”。"
QUOTE_HANDLED_LABEL = "该报价已处理"
QUOTE_ANSWER_LABELS = {"accept": "已接受报价", "decline": "已拒绝报价"}
#: a ticket's end, as the sentences above say it
ENDED_NAMES = {"resolved": "完工", "closed": "关闭", "cancelled": "取消"}
QUOTE_APPROVAL_SUMMARY = "报价第{version}版 ¥{total}\n{lines}"
WECOM_APPROVERS = "企业微信审批"

#: a ticket's audit trail in words (trail.py: 记录 GD…, ticket show, the board's 操作记录)
TRAIL_ACTIONS = {"create": "创建", "linked_report": "客户补充", "append": "客户补充",
                 "workflow:start": "流程开始", "workflow:node_start": "环节开始",
                 "workflow:node_done": "环节完成", "workflow:node_insert": "插入环节",
                 "workflow:node_transfer": "环节转交", "approval:request": "提交审批",
                 "approval:approved": "审批同意", "approval:rejected": "审批驳回",
                 "approval:transfer": "审批转交", "approval:wecom_submitted": "已提交企业微信审批",
                 "approval:wecom_failed": "企业微信审批提交失败", "approval:wecom_change": "企业微信审批更新",
                 "quote:new": "新报价", "quote:sent": "报价发给客户", "quote:accepted": "客户接受报价",
                 "quote:declined": "客户拒绝报价", "priority": "优先级变更", "urge": "客户催单",
                 "rate": "客户评分", "note": "备注", "assign": "指派", "attach:photo": "照片",
                 "dispatch:offer": "派单", "dispatch:assign": "指派师傅", "dispatch:transfer": "转派",
                 "dispatch:declined": "师傅拒单", "dispatch:transferred": "师傅转派",
                 "dispatch:escalate": "转调度", "dispatch:timed_out": "派单超时",
                 "dispatch:grab_expired": "抢单超时", "dispatch:closed": "派单结束",
                 "report:depart": "师傅出发", "report:arrive": "师傅到达", "report:done": "师傅完工",
                 "settlement:unpriced": "待人工核价", "settlement:ask_prices": "询问配件单价",
                 "settlement:part_prices": "补报配件单价", "settlement:prices_to_finance": "转财务核价",
                 "sla:pause": "时效暂停", "sla:resume": "时效恢复", "sla:priority": "时效升级优先级",
                 "sla:reassign": "超时转派", "sla:upgrade": "升级高级工单"}
#: ``change:<field>`` (a customer's change on their ticket) and ``attach:<kind>``
TRAIL_CHANGED = {"time": "修改时间", "phone": "修改电话", "place": "修改地点", "description": "修改描述",
                 "order": "修改订单号"}
TRAIL_CHANGED_OTHER = "修改"
TRAIL_ATTACHMENT = "附件"
TRAIL_OTHER = "其他操作"
TRAIL_STATUS = "状态→{status}"
TRAIL_SYSTEM = "系统"  # the bot itself
TRAIL_CUSTOMER = "客户"
TRAIL_LINE = "{when} {what}（{who}）"
TRAIL_DETAIL = "：{detail}"
