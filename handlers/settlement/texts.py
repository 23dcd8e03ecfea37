"""What settlement says: statements, answers, reviews, corrections (handlers/settlement/)."""

from handlers.voice import (  # noqa: F401 — shared words this feature says too
    CARD_CLICK_UNKNOWN, CATEGORY_NAMES)

SETTLE_CURRENCY = {"CNY": "¥"}
LIST_SEP = "、"
SETTLE_HEAD = "工单 {number} 结算单（{service}）"
SETTLE_TECH_HEAD = "工单 {number} 结算明细（{service}）"
SETTLE_BOOK = "计价依据：价目表 {book} 第{version}版，规则 {rule}"
SETTLE_LINE = "{n}. {name}{detail}：{amount}"
SETTLE_LINE_SHARE = "（占{share}）"  # the technician's lines only: shares are internal
SETTLE_LINE_PART_COST = "（成本价{cost}，加价{markup}%）"  # the technician's: the reported cost
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
SETTLE_CARD_DESC = "{service}，合计 {amount}，请确认"
SETTLE_CARD_TECH_DESC = "您的分成 {amount}，请确认"
SETTLE_CARD_ROWS = {"service": "服务", "total": "合计", "net": "净额", "share": "您的分成",
                    "more": "其他{n}项", "subtotal": "小计", "tax": "增值税"}
SETTLE_CARD_TAX = "{amount}（{rate}%）"
SETTLE_CARD_TOTAL_INCLUSIVE = "{amount}（含税{tax}）"
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
SETTLE_REVIEW_TO_FINANCE = ("结算异议 #{review}：工单 {number}，{party}{who}对结算单（合计 {amount}）"
                            "有异议：“{words}”\n"
                            "处理：python main.py settle review accept {review}（维持原单）"
                            "或 settle review correct {review} --hours …（更正）")
SETTLE_REVIEW_WHO = "（{name}）"  # a technician's name; a customer is the ticket's
SETTLE_REVIEW_MORE_TO_FINANCE = "结算异议 #{review} 补充（工单 {number}，{party}）：“{words}”"
SETTLE_UNPRICED_TO_FINANCE = ("无法计价 #{review}：工单 {number}（{category}，{device}）已完工，"
                              "但{why}。\n请人工核价：python main.py settle review correct "
                              "{review} --service 服务名 …")
SETTLE_UNPRICED_WHY = {"no_service": "价目表里没有这类工单对应的服务项目",
                       "no_report": "没有完工报告（工时、配件）",
                       "bad_report": "完工报告的数据有误（{detail}）",
                       "no_cost": "配件“{detail}”没有单价（师傅完工时未报价格）",
                       "no_rule": "价目表里没有适用的价格（{detail}）"}
SETTLE_UNPRICED_CUSTOMER = "工单 {number}：这单的费用需要财务人工核定，核定后结算单会发给您核对。"
SETTLE_UNPRICED_CUSTOMER_QUOTED = "工单 {number}：财务正按您接受的报价 ¥{total} 出结算单，出好后发给您核对。"
SETTLE_UNPRICED_QUOTED = "\n客户已接受报价 ¥{total}（第{version}版），请按报价核定。"
# a part reported without a price: the technician is asked, then finance
SETTLE_PART_QUOTED = "“{name}”"
SETTLE_PRICE_EXAMPLE = "{name} {price}元"
SETTLE_EXAMPLE_PRICES = ("180", "35", "12", "60", "8")
SETTLE_PRICE_EXAMPLE_SEP = "，"
SETTLE_PRICE_NOTED = "{name} 单价{cost}元"
SETTLE_REPORTED_PART = "{name}×{qty}（单价{cost}元）"
SETTLE_REPORTED_PART_UNPRICED = "{name}×{qty}（未报单价）"
SETTLE_PRICES_ASK = ("工单 {number} 还不能出结算单：配件{parts}还没有单价。请回复例如：{example}\n"
                     "{minutes}分钟内没有收到，将转财务核价。")
SETTLE_PRICES_PENDING_CUSTOMER = "工单 {number}：结算单还差配件{parts}的单价，师傅补报后会发给您核对。"
SETTLE_PRICES_NOTED = "已记下：{noted}。工单 {number} 还差配件{parts}的单价，请回复例如：{example}"
SETTLE_PRICES_UNMATCHED = "没有对上要补单价的配件。工单 {number} 还差配件{parts}的单价，请回复例如：{example}"
SETTLE_PRICES_OK_TECH = "已记下：{noted}。工单 {number} 的结算单已发给客户，您的结算明细见下一条。"
SETTLE_PRICES_OK = "已记下：{noted}。工单 {number} 的结算单（合计 {amount}）已发给客户和师傅。"
SETTLE_PRICES_STILL_UNPRICED = "已记下：{noted}。但工单 {number} 还不能计价：{why}，已转财务处理。"
SETTLE_PRICES_NOT_ASKED = "工单 {number} 没有在等您补报配件单价。"
SETTLE_PRICES_TO_FINANCE = (
    "待核价 #{review}：工单 {number}（{category}，{device}）已完工，{tech}{minutes}分钟内没有补报配件"
    "{parts}的单价。\n已报配件：{reported}\n"
    "请直接回复单价，例如：{example}（同时有几张待核价时请带上工单号，例如：{number} {example}）；\n"
    "或在服务器上：python main.py settle review correct {review} {options}")
SETTLE_PRICES_OPTION = "--price {name}=单价"
SETTLE_PRICES_TO_FINANCE_CUSTOMER = "工单 {number}：配件{parts}的单价已转财务核定，核定后结算单会发给您核对。"
SETTLE_PRICES_TO_FINANCE_TECH = ("工单 {number} 的配件单价{minutes}分钟内没有收到，已转财务核价。"
                                 "您现在回复（例如：{example}）仍然有效。")
SETTLE_PRICES_RESOLVED_TO_FINANCE = "待核价 #{review}（工单 {number}）：{who}已补报单价，结算单已发出，无需再处理。"
SETTLE_TECHNICIAN_FALLBACK = "师傅"
SETTLE_DEVICE_UNKNOWN = "设备未填"
SETTLE_CORRECTED = "工单 {number} 的结算单已更正（第{revision}次更正），变化如下："
SETTLE_DIFF_ROW = "{name}：{old} → {new}（{delta}）"
SETTLE_DIFF_NONE = "无"
SETTLE_DIFF_TAX = "税额（{rate}%）"  # a diff row: VAT added on top changed with the lines
SETTLE_DIFF_TOTAL = "合计：{old} → {new}"
SETTLE_DIFF_SHARE = "您的分成：{old} → {new}"
SETTLE_DIFF_NOTE = "财务说明：{note}"
SETTLE_REVIEW_ACCEPTED = "经财务核对，工单 {number} 的结算单（合计 {amount}）无误，维持不变。"
SETTLE_GUARD_ADDRESS = ("优惠冻结：地址“{address}”在{days}天内取消了{count}次（上限{limit}次），"
                        "已暂停该地址的优惠活动。")
SETTLE_GUARD_REGION = ("优惠冻结：{region}已有{count}个地址因频繁取消被冻结（阈值{threshold}个），"
                       "已暂停该区域的优惠活动。")
