"""Staff files: CSV and YAML import, every problem named by file:line: field, export → import
round trip, the sandbox's people, and ``python main.py staff import|export``."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers.dispatch.engine.specs import technician_from_dict
from models.db import make_engine, make_sessionmaker, migrate, write_session
from handlers.staff.fileformat import (FIELDS, StaffFileError, StaffRow, export_staff, import_staff,
                             read_staff_file)
from models.tickets import Staff
from tests.conftest import ROOT
from tests.scenarios.test_process import MAIN, clean_env

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SANDBOX_STAFF = ROOT / "config" / "sandbox" / "staff.yaml"

GOOD_CSV = """\
userid,name,roles,phone,extension,provider,skills,regions,home,capacity,rating,shifts,leave,active
lishifu,李师傅,technician,13900000001,8001,申城家电服务,aircon:4;coffee:3,310000;330100,"31.2304,121.4737",5,4.8,mon-fri 09:00-18:00;sat 10:00-16:00,2026-11-20..2026-11-22;2026-12-01,true
wangjingli,王经理,dispatcher;supervisor,021-62345678,,,,,,0,,daily 00:00-24:00,,
"""


async def _import(url: str, path: Path) -> tuple[int, int]:
    rows = read_staff_file(path)
    engine = make_engine(url)
    try:
        async with write_session(make_sessionmaker(engine), None) as s:
            return await import_staff(s, rows, NOW)
    finally:
        await engine.dispose()


async def _export(url: str, path: Path) -> int:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as s:
            return await export_staff(s, path)
    finally:
        await engine.dispose()


async def _add(url: str, *people: Staff) -> None:
    engine = make_engine(url)
    try:
        async with write_session(make_sessionmaker(engine), None) as s:
            s.add_all(people)
    finally:
        await engine.dispose()


async def _people(url: str) -> dict[str, Staff]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as s:
            return {p.userid: p for p in (await s.execute(select(Staff))).scalars()}
    finally:
        await engine.dispose()


def _snapshot(people: dict[str, Staff]) -> dict[str, dict]:
    return {u: p.model_dump(exclude={"id"}) for u, p in people.items()}


def _as_technician(p: Staff):
    """What dispatch will build from the row: proves the stored shapes are usable."""
    return technician_from_dict({
        "id": p.userid, "name": p.name, "skills": p.skills, "regions": p.regions,
        "home": {"lat": p.home_lat, "lon": p.home_lon}, "capacity": p.capacity,
        "shifts": p.shifts, "leave": p.leave, "rating": p.rating})


async def test_csv_import_upserts_and_leaves_the_rest_alone(db_url, tmp_path):
    seen = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    await _add(db_url,
               Staff(userid="lishifu", name="老李", roles=["dispatcher"], last_lat=31.0,
                     last_lon=121.0, last_seen_at=seen, capacity=1),
               Staff(userid="qiankuaiji", name="钱会计", roles=["finance"]))
    path = tmp_path / "staff.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")

    assert await _import(db_url, path) == (1, 1)

    people = await _people(db_url)
    li = people["lishifu"]
    assert (li.name, li.roles, li.phone, li.extension, li.provider) == (
        "李师傅", ["technician"], "13900000001", "8001", "申城家电服务")
    assert li.skills == {"aircon": 4, "coffee": 3}
    assert li.regions == ["310000", "330100"]
    assert (li.home_lat, li.home_lon, li.capacity, li.rating, li.active) == (
        31.2304, 121.4737, 5, 4.8, True)
    assert li.shifts == [{"days": "mon-fri", "start": "09:00", "end": "18:00"},
                         {"days": "sat", "start": "10:00", "end": "16:00"}]
    assert li.leave == [{"from": "2026-11-20", "to": "2026-11-22"},
                        {"from": "2026-12-01", "to": "2026-12-01"}]
    # The live location is not the file's business.
    assert (li.last_lat, li.last_lon, li.last_seen_at) == (31.0, 121.0, seen)
    tech = _as_technician(li)
    assert len(tech.shifts) == 6 and tech.skills["aircon"] == 4

    wang = people["wangjingli"]
    assert (wang.roles, wang.phone, wang.extension, wang.home_lat, wang.capacity,
            wang.rating, wang.active) == (["dispatcher", "supervisor"], "021-62345678", None,
                                          None, 0, None, True)
    assert wang.shifts == [{"days": "daily", "start": "00:00", "end": "24:00"}]
    # Not in the file: untouched.
    assert (people["qiankuaiji"].name, people["qiankuaiji"].roles) == ("钱会计", ["finance"])

    # The same file again changes nothing; a changed cell updates that one person.
    assert await _import(db_url, path) == (0, 0)
    path.write_text(GOOD_CSV.replace(",5,4.8,", ",3,4.8,"), encoding="utf-8")
    assert await _import(db_url, path) == (0, 1)
    assert (await _people(db_url))["lishifu"].capacity == 3


async def test_yaml_import_with_native_structures(db_url, tmp_path):
    path = tmp_path / "staff.yaml"
    path.write_text("""\
# people
- userid: zhaoshifu
  name: 赵师傅
  roles: [technician]
  phone: 13900000003        # unquoted: still text
  extension: 0701           # would be octal 449 as a YAML number
  provider: 浦江维修
  skills: {hood: 3, washer: 3}
  regions: [310000, "310115"]
  home: {lat: 31.24, lon: 121.5}
  capacity: 4
  shifts:
    - {days: [sat, sun], start: "10:00", end: "16:00"}
    - {start: "22:00", end: "06:00"}
  leave:
    - {from: 2026-11-20, to: 2026-11-22}
  active: false
- userid: qiankuaiji
  name: yes
  roles: finance
""", encoding="utf-8")

    assert await _import(db_url, path) == (2, 0)

    people = await _people(db_url)
    zhao = people["zhaoshifu"]
    assert (zhao.phone, zhao.extension, zhao.provider) == ("13900000003", "0701", "浦江维修")
    assert zhao.skills == {"hood": 3, "washer": 3}
    assert zhao.regions == ["310000", "310115"]
    assert (zhao.home_lat, zhao.home_lon, zhao.capacity, zhao.rating, zhao.active) == (
        31.24, 121.5, 4, None, False)
    assert zhao.shifts == [{"days": "sat,sun", "start": "10:00", "end": "16:00"},
                           {"days": "daily", "start": "22:00", "end": "06:00"}]
    assert zhao.leave == [{"from": "2026-11-20", "to": "2026-11-22"}]
    assert _as_technician(zhao).skills["washer"] == 3
    assert (people["qiankuaiji"].name, people["qiankuaiji"].roles) == ("yes", ["finance"])


BAD_CSV = """\
userid,name,roles,phone,extension,skills,regions,home,capacity,rating,shifts,leave,active,skils
ok1,甲,technician,13900000001,8001,aircon:4,310000,"31.2,121.4",3,4.5,mon-fri 09:00-18:00,,true,
bad1,乙,technician;boss,1390000,123456789,aircon:7;Coffee:3,3100,"121.4,31.2",0,6,mon-fri 25:00-18:00;9点-18点,2026-11-22..2026-11-20,maybe,

ok1,丙,,,,,,,,,,,,
,丁,,,,,,,,,,,,
tech2,戊,technician,,,aircon:x,,,,,,,,
"""


def test_every_problem_is_reported_with_file_line_and_field(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    with pytest.raises(StaffFileError) as err:
        read_staff_file(path)
    problems = err.value.problems
    where = str(path)
    # Every problem starts with file:line: field — line 1 is the header; line 4 is blank.
    located = [tuple(p[len(where) + 1:].split(": ", 2)[:2]) for p in problems]
    assert located == [
        ("1", "skils"),
        ("3", "roles"), ("3", "phone"), ("3", "extension"), ("3", "skills"), ("3", "skills"),
        ("3", "regions"), ("3", "home"), ("3", "rating"), ("3", "shifts"), ("3", "shifts"),
        ("3", "leave"), ("3", "active"), ("3", "capacity"),
        ("5", "userid"),
        ("6", "userid"),
        ("7", "skills"), ("7", "home"), ("7", "capacity"),
    ]
    assert f"{where}:3: skills: level 7 for 'aircon' is not in 1..5" in problems
    assert (f"{where}:3: shifts: shift 1: start '25:00' is not a time HH:MM between 00:00 "
            f"and 24:00") in problems
    assert f"{where}:3: shifts: shift 2: '9点-18点' is not like 'mon-fri 09:00-18:00'" in problems
    assert f"{where}:3: leave: leave 1: to 2026-11-20 is before from 2026-11-22" in problems
    assert f"{where}:5: userid: 'ok1' is already on line 2" in problems
    assert f"{where}:7: home: required for technicians (lat,lon, e.g. 31.2304,121.4737)" \
        in problems
    assert str(err.value) == "\n".join(problems)


def test_yaml_problems_name_the_line_of_the_mapping(tmp_path):
    path = tmp_path / "staff.yml"
    path.write_text("""\
- userid: lishifu
  roles: [technician]
  home: {lat: 31.2, lon: 121.4}
  capacity: 2
  shifts: [{days: mon-fri, start: "09:00", end: 18:00}]

- userid: wangshifu
  roles: [technician]
  home: {lat: 31.2}
  capacity: 1
  colour: blue
- just text
""", encoding="utf-8")
    with pytest.raises(StaffFileError) as err:
        read_staff_file(path)
    assert err.value.problems == [
        f"{path}:1: shifts: shift 1: end must be a time \"HH:MM\" as text, got 1080 (an unquoted "
        f"18:00 in YAML reads as a number: quote it)",
        f"{path}:7: colour: unknown field (fields: {', '.join(FIELDS)})",
        f"{path}:7: home: {{'lat': 31.2}} is not lat,lon (e.g. 31.2304,121.4737; in YAML "
        f"{{lat: 31.2304, lon: 121.4737}})",
        f"{path}:12: expected a mapping of fields (userid: …), got a value",
    ]


async def test_bad_file_writes_nothing(db_url, tmp_path):
    """The caller imports only a file without problems: a bad row stops the good ones too."""
    path = tmp_path / "staff.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    with pytest.raises(StaffFileError):
        await _import(db_url, path)
    assert await _people(db_url) == {}


def test_csv_with_excel_bom_and_spreadsheet_leftovers(tmp_path):
    path = tmp_path / "staff.csv"
    # Excel: a BOM, CRLF, capitalised headers in another order, trailing empty columns and rows.
    text = ("Name,UserID,Roles,,\r\n"
            "钱会计,qiankuaiji,finance,,\r\n"
            ",,,,\r\n")
    path.write_bytes(text.encode("utf-8-sig"))
    assert read_staff_file(path) == [StaffRow(userid="qiankuaiji", name="钱会计",
                                              roles=["finance"])]
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(StaffFileError) as err:
        read_staff_file(path)
    assert err.value.problems == [f"{path}:2: not UTF-8 text (in Excel save as "
                                  f"'CSV UTF-8 (Comma delimited)')"]


@pytest.mark.parametrize("suffix", [".csv", ".yaml"])
async def test_export_then_import_is_a_no_op(db_url, tmp_path, suffix):
    await _import(db_url, SANDBOX_STAFF)
    extra = tmp_path / "extra.csv"
    extra.write_text(GOOD_CSV.replace("lishifu", "lishifu2").replace(",true\n", ",false\n"),
                     encoding="utf-8")
    await _import(db_url, extra)
    before = _snapshot(await _people(db_url))

    first = tmp_path / f"export{suffix}"
    assert await _export(db_url, first) == 13  # the sandbox's 12 and the extra one
    if suffix == ".csv":
        data = first.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")  # Excel opens it as UTF-8
        assert data[3:].split(b"\r\n", 1)[0].decode() == ",".join(FIELDS)
    assert await _import(db_url, first) == (0, 0)
    assert _snapshot(await _people(db_url)) == before
    second = tmp_path / f"again{suffix}"
    await _export(db_url, second)
    assert second.read_bytes() == first.read_bytes()

    # The export is a faithful copy: importing it into an empty database gives the same people.
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate(fresh)
    assert await _import(fresh, first) == (13, 0)
    assert _snapshot(await _people(fresh)) == before


async def test_sandbox_people_import_cleanly(db_url):
    assert await _import(db_url, SANDBOX_STAFF) == (12, 0)
    people = await _people(db_url)
    assert set(people) == {"lishifu", "wangshifu", "zhaoshifu", "zhoushifu", "sunshifu",
                           "wangjingli", "qiankuaiji", "liuzongjian", "chendianzhang",
                           "zhouzhijian", "wucaigou", "linkefu"}
    # the workflow's owners: a director, a store's duty manager, 质检部, 采购部, 客服
    assert people["chendianzhang"].stores == ["人民广场店", "静安寺店"]
    assert people["zhouzhijian"].departments == ["质检部"]
    assert people["liuzongjian"].roles == ["director"]
    technicians = [p for p in people.values() if "technician" in p.roles]
    assert len(technicians) == 5
    around_the_clock = [{"days": "daily", "start": "00:00", "end": "24:00"}]
    for p in technicians:
        assert p.shifts == around_the_clock and p.capacity >= 1, p.userid
        assert len(_as_technician(p).shifts) == 7
    li = people["lishifu"]
    assert (li.skills, li.regions, li.home_lat, li.home_lon, li.capacity, li.rating, li.phone,
            li.extension, li.provider) == (
        {"aircon": 4, "coffee": 3, "general": 3}, ["310000"], 31.2290, 121.4760, 5, 4.8,
        "13900000001", "8001", "申城家电服务")
    zhao = people["zhaoshifu"]
    assert zhao.skills == {"hood": 3, "washer": 3, "general": 2} and zhao.rating is None
    assert people["sunshifu"].regions == ["330100"]
    assert (people["zhoushifu"].provider, people["sunshifu"].provider) == ("浦江维修",
                                                                         "西湖家电服务")
    boss = people["wangjingli"]
    assert (boss.roles, boss.phone, boss.shifts) == (
        ["manager", "dispatcher", "supervisor"], "13900000009", around_the_clock)
    assert people["qiankuaiji"].roles == ["finance"]


def _main(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", LOG_LEVEL="WARNING")
    return subprocess.run([sys.executable, MAIN, "staff", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


def test_staff_command_imports_exports_and_refuses_a_bad_file(tmp_path):
    good = tmp_path / "staff.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    run = _main(tmp_path, "import", "staff.csv", "--dry-run")
    assert (run.returncode, run.stdout.strip()) == (
        0, "checked staff.csv: 2 staff, no problems (dry run: nothing written)"), run.stderr

    run = _main(tmp_path, "import", "staff.csv")
    assert (run.returncode, run.stdout.strip()) == (
        0, "imported staff.csv: 2 created, 0 updated, 0 unchanged"), run.stderr

    run = _main(tmp_path, "export", "out.yaml")
    assert (run.returncode, run.stdout.strip()) == (0, "exported 2 staff to out.yaml"), run.stderr
    exported = read_staff_file(tmp_path / "out.yaml")
    assert exported == read_staff_file(good)

    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD_CSV.replace(",5,4.8,", ",5,9,").replace("lishifu", "wangjingli"),
                   encoding="utf-8")
    run = _main(tmp_path, "import", "bad.csv")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [
        "bad.csv:2: rating: 9 is not in 1..5",
        "bad.csv:3: userid: 'wangjingli' is already on line 2",
    ]
    # Nothing written: neither the bad rating nor the good second row.
    with closing(sqlite3.connect(tmp_path / "bot.db")) as db:
        rows = db.execute("SELECT userid, name, rating, capacity FROM staff ORDER BY id")
        assert rows.fetchall() == [("lishifu", "李师傅", 4.8, 5), ("wangjingli", "王经理", None, 0)]

    run = _main(tmp_path, "export", "out.txt")
    assert run.returncode == 2
    assert run.stderr.strip() == "out.txt: unknown format '.txt': use .csv, .yaml or .yml"


async def test_userids_match_whatever_their_case(db_url, tmp_path):
    """WeCom userids are case-insensitive: a file's "lishifu" updates the stored "LiShiFu"."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from models.db import make_engine, make_sessionmaker, write_session
    from handlers.staff.fileformat import import_staff, read_staff_file
    from models.tickets import Staff

    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    try:
        async with write_session(sm, None) as s:
            s.add(Staff(userid="LiShiFu", name="李", roles=["technician"]))
        path = tmp_path / "staff.yaml"
        path.write_text("- {userid: lishifu, name: 李师傅, roles: [manager]}\n", encoding="utf-8")
        async with write_session(sm, None) as s:
            assert await import_staff(s, read_staff_file(path), now) == (0, 1)
        async with sm() as s:
            [one] = (await s.execute(select(Staff))).scalars().all()
        assert (one.userid, one.name, one.roles) == ("LiShiFu", "李师傅", ["manager"])
    finally:
        await engine.dispose()


def test_yaml_fields_given_twice_or_unreadable_name_the_mapping_line(tmp_path):
    path = tmp_path / "staff.yaml"
    path.write_text("- userid: a\n  name: 甲\n\n- userid: b\n  name: 乙\n  name: 丙\n"
                    "  leave: [{from: 2026-02-30, to: 2026-03-01}]\n", encoding="utf-8")
    with pytest.raises(StaffFileError) as err:
        read_staff_file(path)
    assert err.value.problems == [
        f"{path}:4: name: given twice",
        f"{path}:4: leave: cannot read '2026-02-30' (day is out of range for month)",
    ]
    path.write_text("userid: a\n", encoding="utf-8")
    with pytest.raises(StaffFileError) as err:
        read_staff_file(path)
    assert err.value.problems == [f"{path}:1: expected a list of people (- userid: …), got a "
                                  f"mapping"]
