"""``config/intake.yaml``: intake triggers, slots per category, reply words, duplicate rules.

Validated on load (pydantic, unknown fields refused); an error names the file, the line and the
field, e.g. ``config/intake.yaml:14: slots.repair.1: 'fone' is not a slot (place, phone, …)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nlp.classify import CATEGORIES
from handlers.config_file import CONFIG_DIR, ConfigError, load_yaml_model

DEFAULT_PATH: Final = CONFIG_DIR / "intake.yaml"
SLOTS: Final = ("place", "phone", "device", "time", "order")
Slot = Literal["place", "phone", "device", "time", "order"]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]  # the categories nlp/ tells apart


class IntakeConfigError(ConfigError):
    """One line per problem: ``file:line: field: message``."""


class IntakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_minutes: int = Field(default=10, ge=1, le=24 * 60)
    keywords: tuple[str, ...] = ("报修", "坏了", "投诉")
    #: the bot's names people @-mention (WeCom admin → the AI bot's name); removed wherever they
    #: appear in a message, and a group message starting with one is addressed to the bot
    bot_names: tuple[str, ...] = ("工单助手",)
    slots: dict[Category, tuple[Slot, ...]] = Field(default_factory=lambda: {
        "repair": ("place", "phone", "device", "time")})
    confirm_words: tuple[str, ...] = ("确认", "确定", "是的", "好的", "可以")
    edit_words: tuple[str, ...] = ("修改",)
    cancel_words: tuple[str, ...] = ("取消", "算了")
    duplicate_score: int = Field(default=80, ge=50, le=100)
    repeat_days: int = Field(default=30, ge=0)
    eta_hours: dict[Literal["urgent", "high", "normal", "low"], int] = Field(
        default_factory=lambda: {"urgent": 4, "high": 8, "normal": 24, "low": 72})
    mask_phones_in_groups: bool = True

    @field_validator("slots")
    @classmethod
    def _categories(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for cat, slots in v.items():
            if len(set(slots)) != len(slots):
                raise ValueError(f"{cat}: a slot is listed twice")
        return v

    @field_validator("keywords", "confirm_words", "edit_words", "cancel_words")
    @classmethod
    def _words(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not w.strip() for w in v):
            raise ValueError("empty word")
        return tuple(w.strip() for w in v)

    def slots_for(self, category: str) -> tuple[str, ...]:
        return self.slots.get(category, ())


def load_intake_config(path: Path | None = None) -> IntakeConfig:
    return load_yaml_model(path or DEFAULT_PATH, IntakeConfig, IntakeConfigError)
