"""``config/settlement.yaml`` and the price books it names, loaded and checked together.

* ``services``: which price-book service prices a ticket, by category and device (first match
  wins); a ticket no entry matches is reported to finance instead of being priced.
* ``customer_tags``: tags the price books' ``customer_tags_any`` conditions test, derived from
  the customer's history (``老客户``: at least N earlier completed tickets).
* ``providers``: a provider's segment (省级代理, 社区团购 …), which picks its rebate ladder.
* ``guard``: when cancellations freeze an address's, then a district's, promotions.
* ``price_wait_minutes``: how long the technician has to give a missing part price before the
  ticket goes to finance.

Validated on load (unknown fields refused); an error names the file, the line and the field.
Every ``service`` named here must exist in the price books (checked against them at start), so
a typo stops the bot instead of leaving tickets unpriced. A bad price book stops it too, with
the book's own ``file:line: field: message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nlp.classify import CATEGORIES
from handlers.config_file import (CONFIG_DIR, ROOT, ConfigError, load_yaml_model, read_yaml_file,
                                  validate_model)
from handlers.settlement.engine.books import Book, BookError
from handlers.settlement.loader import load_books

DEFAULT_PATH: Final = CONFIG_DIR / "settlement.yaml"


class SettlementConfigError(ConfigError):
    """One line per problem: ``file:line: field: message``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceMap(_Strict):
    """Tickets of ``category`` (any if left out) about ``device`` (any if left out) are priced
    as ``service``. ``units`` fills the ``units`` quantity (devices serviced, e.g. 台);
    ``part_quantities`` turns reported parts whose name contains a key into that quantity
    (e.g. 滤网 → ``filters``) instead of billing them as parts."""

    category: str | None = None
    device: str | None = Field(default=None, min_length=1, max_length=100)
    service: str = Field(min_length=1, max_length=64)
    units: int | None = Field(default=None, ge=1, le=1000)
    part_quantities: dict[str, str] = Field(default_factory=dict)

    @field_validator("category")
    @classmethod
    def _category(cls, v: str | None) -> str | None:
        if v is not None and v not in CATEGORIES:
            raise ValueError(f"{v!r} is not a ticket category ({', '.join(CATEGORIES)})")
        return v

    @model_validator(mode="after")
    def _something(self) -> "ServiceMap":
        if self.category is None and self.device is None:
            raise ValueError("give a category, a device or both")
        return self

    def matches(self, category: str, device: str | None) -> bool:
        return ((self.category is None or self.category == category)
                and (self.device is None or self.device == (device or "")))


class TagRule(_Strict):
    """A customer tag: earned by history (at least ``min_completed_tickets`` earlier tickets
    done: 老客户), or given by hand to the customers with these ``phones`` (集团采购 …)."""

    min_completed_tickets: int | None = Field(default=None, ge=1, le=10_000)
    phones: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _some(self) -> "TagRule":
        if self.min_completed_tickets is None and not self.phones:
            raise ValueError("give min_completed_tickets, phones, or both")
        return self

    def holds(self, done: int, phones: set[str]) -> bool:
        return bool(set(self.phones) & phones) or (
            self.min_completed_tickets is not None and done >= self.min_completed_tickets)


class ProviderInfo(_Strict):
    """A provider's attributes: ``segment`` picks its rebate ladder (the books'
    ``period.segments``: 省级代理, 社区团购 …)."""

    segment: str = Field(min_length=1, max_length=40)


class Guard(_Strict):
    max_events: int = Field(default=3, ge=1, le=1000)
    window_days: int = Field(default=30, ge=1, le=3660)
    region_threshold: int = Field(default=5, ge=1, le=100_000)


class SettlementConfig(_Strict):
    books: str = "config/pricebooks"
    services: tuple[ServiceMap, ...] = ()
    customer_tags: dict[str, TagRule] = Field(default_factory=dict)
    #: provider (``Staff.provider``) → its attributes
    providers: dict[str, ProviderInfo] = Field(default_factory=dict)
    guard: Guard = Guard()
    answer_days: int = Field(default=30, ge=1, le=3660)
    #: a part without a price: the technician has this long to give it, then finance prices it
    price_wait_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)

    def provider_segments(self) -> dict[str, str]:
        """provider → segment, for the month's rebate ladders."""
        return {name: p.segment for name, p in self.providers.items()}

    def service_for(self, category: str, device: str | None) -> ServiceMap | None:
        return next((m for m in self.services if m.matches(category, device)), None)


@dataclass(frozen=True)
class SettlementSetup:
    """What the settlement handlers and commands need: the rules and the price books."""

    config: SettlementConfig
    books: tuple[Book, ...]
    path: Path = DEFAULT_PATH


def load_settlement_config(path: Path | None = None) -> SettlementConfig:
    return load_yaml_model(path or DEFAULT_PATH, SettlementConfig, SettlementConfigError)


def load_settlement(path: Path | None = None, books: str | Path | None = None) -> SettlementSetup:
    """The config and its price books, checked against each other (blocking: run off the loop)."""
    path = path or DEFAULT_PATH
    doc = read_yaml_file(path, SettlementConfigError)
    cfg = validate_model(doc, SettlementConfig, SettlementConfigError)
    book_path = Path(books) if books is not None else Path(cfg.books)
    if not book_path.is_absolute() and books is None:
        book_path = ROOT / book_path
    try:
        loaded = tuple(load_books(book_path))
    except BookError as exc:
        raise SettlementConfigError(str(exc)) from None
    known = {r.service for b in loaded for r in b.rules}
    problems = [
        str(doc.problem(("services", i, "service"),
                        f"{m.service!r} is not a service of the price books in {book_path} "
                        f"({', '.join(sorted(known))})", field=f"services.{i}.service"))
        for i, m in enumerate(cfg.services) if m.service not in known]
    segments = {seg for b in loaded for seg, _ in b.period.segment_rebates}
    problems += [
        str(doc.problem(("providers", name, "segment"),
                        f"{p.segment!r} is not a segment of the price books' period.segments "
                        f"({', '.join(sorted(segments)) or 'none'})",
                        field=f"providers.{name}.segment"))
        for name, p in cfg.providers.items() if p.segment not in segments]
    if problems:
        raise SettlementConfigError("\n".join(problems))
    return SettlementSetup(cfg, loaded, path)
