"""The digest's chart: a PNG drawn with matplotlib (Agg, no display) in a CJK font.

The font is WenQuanYi Micro Hei (Debian ``fonts-wqy-microhei``), found by fontconfig
(``fc-list``) or at its Debian path; ``SLA_CJK_FONT`` names another file. Without one,
``render`` returns None and the digest goes as text only (Chinese labels would draw as boxes).
Drawing takes a few hundred milliseconds, so the courier does it, outside any transaction.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from handlers.sla import texts

DEBIAN_PATHS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
LIGHT_COLOURS = {"red": "#d64541", "yellow": "#f0b429", "green": "#3aa757"}


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """A font file with Chinese glyphs, or None."""
    own = os.environ.get("SLA_CJK_FONT")
    if own and Path(own).is_file():
        return own
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True,
                                 text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
        for f in files:
            if "wqy" in f.lower() and Path(f).is_file():
                return f
        if files and Path(files[0]).is_file():
            return files[0]
    return next((p for p in DEBIAN_PATHS if Path(p).is_file()), None)


def render(stats: dict[str, Any]) -> bytes | None:
    """The digest's numbers as a PNG (counts as bars, regions as coloured cells)."""
    font = cjk_font()
    if font is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    prop = font_manager.FontProperties(fname=font)
    fig = Figure(figsize=(7, 4.2), dpi=100)
    ax = fig.add_subplot(1, 2, 1)
    values = [stats["received"], stats["closed"], stats["open"], stats["breached"],
              stats["yellow"]]
    bars = ax.bar(range(len(values)), values,
                  color=["#4a90d9", "#3aa757", "#888888", "#d64541", "#f0b429"])
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels(texts.CHART_LABELS, fontproperties=prop)
    for bar, v in zip(bars, values):
        ax.annotate(str(v), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontproperties=prop)
    ax.set_title(texts.CHART_TITLE.format(period=stats["period"]), fontproperties=prop)
    side = fig.add_subplot(1, 2, 2)
    side.axis("off")
    regions = stats.get("regions") or []
    for i, r in enumerate(regions[:12]):
        y = 1 - (i + 1) / 13
        side.add_patch(Rectangle((0, y), 0.08, 0.06,
                                 color=LIGHT_COLOURS[r["light"]], transform=side.transAxes))
        side.text(0.12, y + 0.01, f"{r['name']}  红{r['red']} 黄{r['yellow']} 绿{r['green']}",
                  fontproperties=prop, transform=side.transAxes)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
