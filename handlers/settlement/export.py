"""Exports of period results: accounting vouchers (会计凭证) as CSV / XLSX, and JSON.

The voucher layout follows the generic import templates of 金蝶 (Kingdee) and
用友 (Yonyou): one row per entry line, with voucher date, 凭证字, 凭证号,
摘要, account code/name, debit, credit and auxiliary accounting
(客户 / 供应商 / 职员).  Debits equal credits within every voucher.
Column meanings are documented in docs/settlement.md.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Mapping

from handlers.settlement.engine.money import ZERO, fmt_money
from handlers.settlement.engine.period import PeriodResult, month_bounds

COLUMNS = ("凭证日期", "会计年度", "会计期间", "凭证字", "凭证号", "分录号", "摘要", "科目代码", "科目名称",
           "币别", "借方金额", "贷方金额", "客户", "供应商", "职员")

#: Default chart of accounts (企业会计准则 codes); override with ``accounts=``.
DEFAULT_ACCOUNTS: dict[str, tuple[str, str]] = {
    "receivable": ("1122", "应收账款"),
    "revenue": ("6001", "主营业务收入"),
    "output_vat": ("22210106", "应交税费-应交增值税(销项税额)"),
    "cost": ("6401", "主营业务成本"),
    "payable_provider": ("2202", "应付账款"),
    "payable_technician": ("2241", "其他应付款"),
    "rebate_expense": ("6601", "销售费用-服务商返利"),
    "penalty_income": ("6301", "营业外收入-SLA违约金"),
}


@dataclass(frozen=True, slots=True)
class VoucherEntry:
    """One entry line of a voucher."""

    date: date
    word: str
    number: int
    seq: int
    summary: str
    account_code: str
    account_name: str
    currency: str
    debit: Decimal
    credit: Decimal
    customer: str = ""
    supplier: str = ""
    employee: str = ""

    def row(self) -> list[str]:
        """Values in :data:`COLUMNS` order (money with 2 decimals, empty when zero)."""
        money = lambda v: fmt_money(v) if v else ""  # noqa: E731
        return [self.date.isoformat(), str(self.date.year), str(self.date.month), self.word, str(self.number),
                str(self.seq), self.summary, self.account_code, self.account_name, self.currency,
                money(self.debit), money(self.credit), self.customer, self.supplier, self.employee]


def build_vouchers(
    result: PeriodResult, *, word: str = "记", customer: str = "个人客户",
    accounts: Mapping[str, tuple[str, str]] = DEFAULT_ACCOUNTS,
) -> list[VoucherEntry]:
    """Voucher entries for a period result (dated the last day of the month).

    Per provider: (1) revenue recognition — Dr receivable gross / Cr revenue
    net / Cr output VAT tax; (2) service cost — Dr cost / Cr payable to the
    provider (供应商) and to each technician (职员); (3) period adjustments
    when non-zero — rebate, SLA penalty, satisfaction withholding.
    """
    _, end = month_bounds(result.month)
    vdate = (end - timedelta(days=1)).date()
    ccy = result.currency
    out: list[VoucherEntry] = []
    number = 0
    techs_by_provider: dict[str, list[Any]] = {}
    for t in result.technicians:
        techs_by_provider.setdefault(t.provider, []).append(t)
    def voucher(lines: list[tuple[str, str, Decimal, Decimal, str, str, str]]) -> None:
        nonlocal number
        lines = [ln for ln in lines if ln[2] or ln[3]]
        if not lines:
            return
        number += 1
        debit = sum((ln[2] for ln in lines), ZERO)
        credit = sum((ln[3] for ln in lines), ZERO)
        if debit != credit:  # pragma: no cover - guarded by construction
            raise AssertionError(f"voucher {number} unbalanced: {debit} != {credit}")
        for seq, (summary, acct, dr, cr, cust, supp, emp) in enumerate(lines, 1):
            code, name = accounts[acct]
            out.append(VoucherEntry(vdate, word, number, seq, summary, code, name, ccy, dr, cr, cust, supp, emp))

    for p in result.providers:
        tag = f"{result.month} {p.provider}"
        voucher([
            (f"{tag} 服务收入({p.tickets}单)", "receivable", p.gross, ZERO, customer, "", ""),
            (f"{tag} 服务收入", "revenue", ZERO, p.net, "", "", ""),
            (f"{tag} 销项税额", "output_vat", ZERO, p.tax, "", "", ""),
        ])
        shares = dict(p.shares)
        techs = techs_by_provider.get(p.provider, [])
        prov_share = shares.get(result.provider_party, ZERO)
        tech_total = sum((t.share for t in techs), ZERO)
        cost = [(f"{tag} 服务分成", "cost", prov_share + tech_total, ZERO, "", "", ""),
                (f"{tag} 应付服务商分成", "payable_provider", ZERO, prov_share, "", p.provider, "")]
        cost += [(f"{tag} 应付技师分成 {t.technician}", "payable_technician", ZERO, t.share, "", "", t.technician)
                 for t in techs]
        voucher(cost)
        adj = [(f"{tag} 月度返利(档位{p.rebate_tier + 1})", "rebate_expense", p.rebate, ZERO, "", "", ""),
               (f"{tag} 月度返利", "payable_provider", ZERO, p.rebate, "", p.provider, ""),
               (f"{tag} SLA违约金({p.breaches}单)", "payable_provider", p.sla_penalty, ZERO, "", p.provider, ""),
               (f"{tag} SLA违约金", "penalty_income", ZERO, p.sla_penalty, "", "", "")]
        for t in techs:
            w = -t.satisfaction_adjustment
            adj += [(f"{tag} 满意度扣减 {t.technician}", "payable_technician", w, ZERO, "", "", t.technician),
                    (f"{tag} 满意度扣减 {t.technician}", "cost", ZERO, w, "", "", "")]
        voucher(adj)
    return out


def _open_text(dest: str | Path | IO[str]) -> tuple[IO[str], bool]:
    if isinstance(dest, (str, Path)):
        return open(dest, "w", encoding="utf-8-sig", newline=""), True
    return dest, False


def export_csv(result: PeriodResult, dest: str | Path | IO[str], **kw: Any) -> None:
    """Write vouchers as CSV (UTF-8 with BOM when writing to a path, for Excel/金蝶/用友 import)."""
    fh, close = _open_text(dest)
    try:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for e in build_vouchers(result, **kw):
            w.writerow(e.row())
    finally:
        if close:
            fh.close()


def export_xlsx(result: PeriodResult, dest: str | Path | IO[bytes], **kw: Any) -> None:
    """Write vouchers as an XLSX workbook (sheet 凭证) with numeric amount cells."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "凭证"
    ws.append(list(COLUMNS))
    for e in build_vouchers(result, **kw):
        row: list[Any] = e.row()
        row[10] = e.debit if e.debit else None
        row[11] = e.credit if e.credit else None
        row[0] = e.date
        ws.append(row)
    for r in ws.iter_rows(min_row=2, min_col=11, max_col=12):
        for cell in r:
            cell.number_format = "0.00"
    for r in ws.iter_rows(min_row=2, min_col=1, max_col=1):
        for cell in r:
            cell.number_format = "yyyy-mm-dd"
    wb.save(dest)


def export_json(result: PeriodResult, dest: str | Path | IO[str], **kw: Any) -> None:
    """Write the period result plus its vouchers as JSON (money as strings)."""
    doc = result.to_dict()
    doc["vouchers"] = [dict(zip(COLUMNS, e.row())) for e in build_vouchers(result, **kw)]
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if isinstance(dest, (str, Path)):
        Path(dest).write_text(text + "\n", encoding="utf-8")
    else:
        dest.write(text + "\n")


def vouchers_csv_text(result: PeriodResult, **kw: Any) -> str:
    """CSV vouchers as a string (convenience for tests and previews)."""
    buf = io.StringIO()
    export_csv(result, buf, **kw)
    return buf.getvalue()
