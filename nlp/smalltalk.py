"""Greetings and requests for help, as whole messages ("你好", "帮助", "怎么用"). Pure."""

from __future__ import annotations

import re
from typing import Final

HELLO: Final = re.compile(
    r"^(你好|您好|hi|hello|嗨|在吗|在不在|有人吗|哈喽|早上好|下午好|晚上好)[呀啊吗？?!！。~]*$", re.IGNORECASE)
HELP: Final = re.compile(r"^(帮助|help|菜单|怎么用|如何使用|使用说明|你能做什么|你会什么|功能|\?|？)$",
                         re.IGNORECASE)


def is_smalltalk(text: str) -> bool:
    """A greeting or a request for help: never an answer to a question the bot asked."""
    t = text.strip()
    return bool(HELLO.match(t) or HELP.match(t))
