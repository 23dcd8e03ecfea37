"""扫码报修: a QR code per store or device whose content reaches the bot as the first message of
a report, so that intake has the store and the device before the customer writes a word.

What WeCom allows (docs/pricing.md, "Scan to report"): a QR code cannot type a message into a
WeCom chat. Two contents work:

* ``kf_link`` set (config/customers.yaml): the 微信客服 link from ``kf/add_contact_way`` with a
  scene [doc 96416] and ``scene_param`` = the report text (at most 128 bytes before
  urlencoding). WeChat opens the 微信客服 chat; WeCom returns the ``scene_param`` in the
  ``enter_session`` event (pulled with ``kf/sync_msg``). The kf handler must turn that event
  into the first message — not done yet (handlers/kf keeps customers' own messages only).
* otherwise the code holds the report text itself (``扫码报修：人民广场店 咖啡机（设备编号
  CM-001）``): WeCom's scanner shows it, and the person sends it (or a kiosk / H5 page does).

Either way the text is one intake already understands: the store by name, the device by its
dictionary name, and the device number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final
from urllib.parse import quote

import segno

PREFIX: Final = "扫码报修："
MAX_SCENE_PARAM_BYTES: Final = 128  # doc 96416: scene_param before urlencoding


class QrError(ValueError):
    """The code cannot be made (unknown store or device, text too long for a scene_param)."""


def report_text(store: str, device: str = "", device_id: str = "") -> str:
    """扫码报修：人民广场店 咖啡机（设备编号 CM-001）."""
    text = PREFIX + store
    if device:
        text += f" {device}"
    if device_id:
        text += f"（设备编号 {device_id}）"
    return text


def qr_content(text: str, kf_link: str = "") -> str:
    """What the code holds: the 微信客服 link with ``scene_param``, or the text itself."""
    if not kf_link:
        return text
    if len(text.encode("utf-8")) > MAX_SCENE_PARAM_BYTES:
        raise QrError(f"{text!r} is longer than the {MAX_SCENE_PARAM_BYTES} bytes a scene_param holds")
    sep = "&" if "?" in kf_link else "?"
    return f"{kf_link}{sep}scene_param={quote(text, safe='')}"


def write_png(content: str, path: Path, *, scale: int = 8) -> Path:
    """The QR code of ``content`` as a PNG (error correction M, a 4-module quiet zone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    segno.make(content, error="m", micro=False).save(str(path), kind="png", scale=scale, border=4)
    return path


def matrix(content: str) -> list[list[bool]]:
    """The code's modules (for checking a PNG against its content)."""
    return [[bool(v) for v in row] for row in segno.make(content, error="m", micro=False).matrix]
