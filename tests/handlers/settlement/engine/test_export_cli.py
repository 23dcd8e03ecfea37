"""Voucher exports (CSV / XLSX / JSON) and the CLI."""

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from handlers.settlement import cli_files as cli
from handlers.settlement.export import COLUMNS, export_json, export_xlsx, vouchers_csv_text
from handlers.settlement.loader import load_books
from handlers.settlement.engine.period import settle_period

ROOT = Path(__file__).resolve().parents[4]
BOOKS = ROOT / "config" / "pricebooks"
D = Decimal


def tickets():
    base = {"service": "空调安装", "region": "310115", "quantities": {"hours": 2}}
    return [
        {**base, "id": "A1", "provider": "P1", "technician": "E1", "completed_at": "2026-11-03T10:00:00+08:00",
         "satisfaction": 2},
        {**base, "id": "A2", "provider": "P1", "technician": "E2", "completed_at": "2026-11-20T23:10:00+08:00",
         "sla_breached": True},
        {**base, "id": "A3", "provider": "P2", "technician": "E3", "completed_at": "2026-11-21T09:00:00+08:00",
         "service": "咖啡机维修", "quantities": {"hours": 1, "km": 12},
         "parts": [{"sku": "PUMP", "name": "水泵", "cost": "150.00"}]},
    ]


def result():
    return settle_period(tickets(), load_books(BOOKS), "2026-11")


def test_csv_vouchers_balance_per_voucher():
    text = vouchers_csv_text(result())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == COLUMNS
    totals = defaultdict(lambda: [D(0), D(0)])
    for r in rows:
        totals[r["凭证号"]][0] += D(r["借方金额"] or 0)
        totals[r["凭证号"]][1] += D(r["贷方金额"] or 0)
        assert r["凭证日期"] == "2026-11-30" and r["凭证字"] == "记"
    assert len(totals) >= 4
    for dr, cr in totals.values():
        assert dr == cr and dr > 0
    # the provider payable carries the 供应商 auxiliary, technician payables carry 职员
    assert any(r["科目代码"] == "2202" and r["供应商"] == "P1" for r in rows)
    assert any(r["科目代码"] == "2241" and r["职员"] == "E3" for r in rows)
    # SLA penalty (1 breach × 50.00) appears as a credit to 营业外收入
    assert any(r["科目代码"] == "6301" and r["贷方金额"] == "50.00" for r in rows)


def test_xlsx_and_json_exports(tmp_path):
    r = result()
    export_xlsx(r, tmp_path / "v.xlsx")
    ws = load_workbook(tmp_path / "v.xlsx").active
    header = [c.value for c in ws[1]]
    assert tuple(header) == COLUMNS
    debit = sum(D(str(row[10] or 0)) for row in ws.iter_rows(min_row=2, values_only=True))
    credit = sum(D(str(row[11] or 0)) for row in ws.iter_rows(min_row=2, values_only=True))
    assert debit == credit > 0
    export_json(r, tmp_path / "v.json")
    doc = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert doc["month"] == "2026-11" and doc["tickets"] == 3 and doc["vouchers"]
    assert doc["totals"]["gross"] == str(r.gross)


def test_cli_quote_and_period(tmp_path, capsys):
    t = tmp_path / "t.json"
    t.write_text(json.dumps(tickets()[0], ensure_ascii=False), encoding="utf-8")
    assert cli.main(["settle", "quote", "--book", str(BOOKS), "--ticket", str(t)]) == 0
    out = json.loads(capsys.readouterr().out)
    # book v1 (before 11-15), 上海 rule: base 220 + labor 2h × 90 = 180 + 城区溢价 20% × 220 = 44 -> 444.00
    assert out["book"] == {"id": "cn-home", "version": 1, "rule": "ac-install-sh"}
    assert out["totals"]["gross"] == "444.00"

    jl = tmp_path / "t.jsonl"
    jl.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in tickets()), encoding="utf-8")
    rc = cli.main(["settle", "period", "--month", "2026-11", "--tickets", str(jl), "--book", str(BOOKS),
                   "--export", "csv", "--out", str(tmp_path / "out")])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tickets"] == 3 and {p["provider"] for p in summary["providers"]} == {"P1", "P2"}
    assert (tmp_path / "out" / "settlement-2026-11.csv").read_bytes().startswith("\ufeff凭证日期".encode())


def test_cli_reports_book_errors(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("book_id: x\nversion: 0\neffective_from: 2026-01-01\nservices: []\n", encoding="utf-8")
    assert cli.main(["settle", "validate", "--book", str(bad)]) == 2
    assert f"{bad}:2: version: must be >= 1" in capsys.readouterr().err


def test_main_py_settle_quote_contract(tmp_path):
    """The documented contract: ``python main.py settle quote --book FILE --ticket FILE.json``."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[4]
    t = tmp_path / "t.json"
    t.write_text(json.dumps(tickets()[0], ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(root / "main.py"), "settle", "quote", "--book",
                           str(BOOKS), "--ticket", str(t)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["gross"] == "444.00"
