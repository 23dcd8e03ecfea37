"""``config/customers.yaml`` (how far back a customer's history reaches, what counts as a repeat
problem, who may see a full phone number, the 微信客服 link QR codes open) and
``config/solutions.yaml`` (the company's solution templates, shown with a repeat problem).
Validated on load; an error names the file, the line and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from handlers.config_file import CONFIG_DIR, ConfigError, load_yaml_model
from models.tickets import STAFF_ROLES

DEFAULT_PATH: Final = CONFIG_DIR / "customers.yaml"
SOLUTIONS_PATH: Final = CONFIG_DIR / "solutions.yaml"


class CustomersConfigError(ConfigError):
    """One line per problem: ``file:line: field: message``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Device(_Strict):
    """A device with a QR code of its own (``python main.py qr device ID``)."""

    id: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")
    store: str = Field(min_length=1, max_length=100)
    device: str = Field(min_length=1, max_length=100)


class CustomersConfig(_Strict):
    #: the history reaches back this many years
    history_years: int = Field(default=3, ge=1, le=20)
    #: the same device at the same place within this many days is a repeat problem
    repeat_days: int = Field(default=30, ge=1, le=3660)
    #: staff roles that see a customer's full phone number (everyone else a masked one)
    full_phone_roles: tuple[str, ...] = ("dispatcher", "supervisor", "manager", "service")
    #: the 微信客服 link a QR code opens (kf/add_contact_way with a scene [doc 96416]); empty:
    #: the code holds the report text itself
    kf_link: str = Field(default="", max_length=500)
    #: devices that carry a QR code (id → store and device)
    devices: tuple[Device, ...] = ()

    def device(self, device_id: str) -> Device | None:
        return next((d for d in self.devices if d.id.lower() == device_id.lower()), None)

    @field_validator("full_phone_roles")
    @classmethod
    def _roles(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [r for r in v if r not in STAFF_ROLES]
        if bad:
            raise ValueError(f"unknown role(s) {', '.join(bad)} (roles: {', '.join(STAFF_ROLES)})")
        return v

    @field_validator("kf_link")
    @classmethod
    def _link(cls, v: str) -> str:
        if v and not v.startswith("https://work.weixin.qq.com/"):
            raise ValueError("must be a 微信客服 link from kf/add_contact_way "
                             "(https://work.weixin.qq.com/kf/…?enc_scene=…)")
        return v


class Solution(_Strict):
    """A written fix for a device's problem: shown to the technician of a repeat report whose
    text names one of ``keywords`` (any report about the device when there are none)."""

    id: str = Field(min_length=1, max_length=40)
    device: str = Field(min_length=1, max_length=100)
    keywords: tuple[str, ...] = ()
    title: str = Field(min_length=1, max_length=60)
    steps: tuple[str, ...] = Field(min_length=1, max_length=20)

    def fits(self, device: str | None, text: str) -> bool:
        return self.device == (device or "") and (
            not self.keywords or any(k in text for k in self.keywords))


class Solutions(_Strict):
    solutions: tuple[Solution, ...] = ()

    def for_ticket(self, device: str | None, text: str) -> Solution | None:
        return next((s for s in self.solutions if s.fits(device, text)), None)


@dataclass(frozen=True)
class CustomersSetup:
    config: CustomersConfig
    solutions: Solutions


def load_customers(path: Path | None = None, solutions: Path | None = None) -> CustomersSetup:
    cfg = (load_yaml_model(path or DEFAULT_PATH, CustomersConfig, CustomersConfigError)
           if (path or DEFAULT_PATH).exists() else CustomersConfig())
    sol_path = solutions or SOLUTIONS_PATH
    sols = (load_yaml_model(sol_path, Solutions, CustomersConfigError)
            if sol_path.exists() else Solutions())
    return CustomersSetup(cfg, sols)
