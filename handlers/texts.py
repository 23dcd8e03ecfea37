"""The bot's voice: every user-facing Chinese text, in one place."""

GREETING = "您好，我是工单助手。请直接描述遇到的问题，例如：“3号店咖啡机坏了，今天能来修吗 13812345678”。"
RECEIVED = "收到：{text}\n我们已记录您的消息，工单助理正在处理。"
EMPTY_MESSAGE = "没有看到文字内容，请用文字描述一下遇到的问题。"
TOO_LONG = "消息有点长，我们已收到全文。请再用一两句话概括最需要处理的问题。"
NON_TEXT_RECEIVED = "已收到您发送的{kind}。"
KIND_NAMES = {"image": "图片", "voice": "语音", "video": "视频", "location": "位置", "link": "链接",
              "file": "文件", "mixed": "图文消息"}
CARD_CLICK_UNKNOWN = "这张卡片已过期或无法识别，请重新发起。"
SORRY_RETRY = "抱歉，系统暂时繁忙，您的消息已保存，我们会尽快处理。"
