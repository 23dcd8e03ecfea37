"""What the SLA feature says (chat, SMS and email), in one place."""

METRIC_NAMES = {"first_response": "首次响应", "accept": "接单", "arrive": "到场",
                "resolve": "解决", "depart": "出发"}
LIGHT_NAMES = {"red": "🔴红", "yellow": "🟡黄", "green": "🟢绿"}

YELLOW = "⏰ 工单 {number}「{title}」{metric}时限将到：请在 {due} 前处理。"
LEVEL = "⚠️ 工单 {number}「{title}」{metric}已超过 {after}（业务时间）未完成，第{level}级提醒。{place}"
BREACH = "❌ 工单 {number}「{title}」{metric}已超时（时限 {due}）。"
REMIND = "🔔 工单 {number}「{title}」等待您处理（每{every}提醒一次，处理后停止）。{place}"
REASSIGNED = "📌 工单 {number}「{title}」{metric}超过 {after} 未完成，已转由您跟进。{place}"
RAISED = "⬆️ 工单 {number}「{title}」{metric}超时未完成，优先级已提升为「{priority}」。"
UPGRADED = "⬆️ 工单 {number}「{title}」{metric}超时未完成，已升级为高级工单。"
PLACE = "地点：{place}"

SMS_WHAT = {"yellow": "即将超时", "breach": "已超时", "level": "超时未处理", "remind": "待处理",
            "reassign": "已转您跟进", "raise_priority": "已提升优先级", "upgrade": "已升级"}
EMAIL_SUBJECT = "【工单预警】{number} {what}"

PRIORITY_NAMES = {"low": "低", "normal": "普通", "high": "高", "urgent": "紧急"}
SENIOR = "高级工单"

TODO_TITLE = "我的待办（{n}）："
TODO_LINE = "{light} {number}「{title}」{status}{due}"
TODO_DUE = "，{metric}时限 {due}"
TODO_NONE = "您目前没有待办工单。"
TODO_MORE = "……另有 {n} 张未列出。"
STATUS_NAMES = {"new": "待派单", "dispatched": "派单中", "accepted": "已接单",
                "in_progress": "处理中", "pending_customer": "等待客户", "reopened": "重新打开"}

DIGEST_TITLE = {"day": "📊 工单日报 {period}", "week": "📊 工单周报 {period}"}
DIGEST_SCOPE_ALL = "范围：全部"
DIGEST_SCOPE = "范围：{scope}"
DIGEST_COUNTS = "新收 {received} · 完结 {closed} · 未完结 {open}"
DIGEST_BREACHES = "超时 {breached} · 临近超时 {yellow}"
DIGEST_ATTAIN = "SLA达成率 {now}（上周同期 {before}）"
DIGEST_NA = "—"
DIGEST_WORST = "最需关注："
DIGEST_WORST_LINE = "• {number}「{title}」{metric}超时 {late}"
DIGEST_REGIONS = "各区域："
DIGEST_REGION_LINE = "• {region} {light}（红{red} 黄{yellow} 绿{green}）"
DIGEST_LOAD = "师傅负载："
DIGEST_LOAD_LINE = "• {name} 在手 {n} 单"
DIGEST_CHART_NOTE = "（图表另发；看不到图片时以本文字为准）"
DIGEST_NO_CHART = "（图表字体未安装，本次只发文字版）"
DIGEST_NOT_MANAGER = "工单汇总只发给经理和主管。需要的话请联系管理员为您开通。"
CHART_TITLE = "工单 {period}"
CHART_LABELS = ("新收", "完结", "未完结", "超时", "临近超时")
UNPLACED = "未定位"
