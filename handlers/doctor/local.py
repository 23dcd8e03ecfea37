"""The checks that need no network: the settings, the configuration files, the database and its
migrations. Blocking (files, a synchronous database connection): run them off the event loop."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import create_engine, literal, pool, select
from sqlalchemy.engine import make_url

from bot.settings import Settings
from handlers.config_file import ConfigError
from handlers.doctor.report import Result
from handlers.doctor.texts import WHERE, Msg, say
from models.db import MIGRATIONS, sqlite_file, sync_url
from models.tickets import Staff

#: settings a person copies from the console (where a stray space or quote breaks everything)
COPIED = ("WECOM_CORP_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY", "AIBOT_TOKEN",
          "AIBOT_AES_KEY", "PUBLIC_URL")
_VAR = re.compile(r"configuration error: ([A-Z][A-Z0-9_]+)")


def raw(settings: Settings, name: str) -> str:
    v = getattr(settings, name)
    if isinstance(v, SecretStr):
        return v.get_secret_value()
    return "" if v is None else str(v)


def check_settings(settings: Settings | None, error: str | None = None) -> Result:
    """Complete and well-formed. ``error``: the one line ``load_settings`` stopped with (it names
    the variable, never its value)."""
    if settings is None:
        m = _VAR.search(error or "")
        advice = (WHERE[m.group(1)],) if m and m.group(1) in WHERE else ()
        return Result("settings", "fail", say("settings.load", error=error or "?"), advice)
    if settings.sandbox_mode:
        return Result("settings", "fail", say("settings.sandbox"), (say("settings.sandbox.fix"),))
    found: list[Msg] = []
    advice: list[Msg] = []
    for var in COPIED:
        value = raw(settings, var)
        if not value:
            continue
        if value != value.strip() or value[0] in "\"'" or value[-1] in "\"'":
            found.append(say("settings.spaces", var=var))
            advice.append(say("settings.spaces.fix", var=var))
        elif not value.isascii() or any(c.isspace() for c in value):
            found.append(say("settings.chars", var=var))
            advice.append(WHERE[var])
    corp = settings.WECOM_CORP_ID.strip()
    if corp[:2].lower() in ("ww", "wx") and corp[:2] != corp[:2].lower():
        found.append(say("settings.corp_case"))
        advice.append(WHERE["WECOM_CORP_ID"])
    if not settings.WECOM_AGENT_ID or settings.WECOM_AGENT_ID <= 0:
        found.append(say("settings.agent"))
        advice.append(WHERE["WECOM_AGENT_ID"])
    public = settings.PUBLIC_URL.strip().rstrip("/")
    for path in ("/wecom/callback", "/wecom/aibot"):
        if public.endswith(path):
            found.append(say("settings.public_path", path=path))
            advice.append(WHERE["PUBLIC_URL"])
    if found:
        return Result("settings", "fail", ("；".join(z for z, _ in found),
                                           "; ".join(e for _, e in found)), tuple(advice))
    return Result("settings", "ok", say("settings.ok", corp=corp, agent=settings.WECOM_AGENT_ID))


# -- configuration files ------------------------------------------------------------------


#: the files the bot loads at start beside those below, each with the loader it uses there
#: (module, function, the setting naming the file or None); a feature not in this checkout is
#: left out rather than failed
_MORE = (("templates/ + fields.yaml + workflow.yaml", "handlers.workflow.config",
          "load_workflow_config", None),
         ("sla.yaml", "handlers.sla.config", "load_sla_config", "SLA_CONFIG"),
         ("customers.yaml + solutions.yaml", "handlers.customers.config", "load_customers", None),
         ("api.yaml", "handlers.board.config", "load_api_config", "API_CONFIG"))


def _loaders(settings: Settings) -> list[tuple[str, Callable[[], Any]]]:
    """Every file under config/ that users edit, with the loader that checks it at start."""
    import importlib

    from handlers.dispatch.config import load_dispatch_configs
    from handlers.intake.config import load_intake_config
    from handlers.notify import load_groups_config
    from handlers.settlement.config import load_settlement

    out: list[tuple[str, Callable[[], Any]]] = [
        ("intake.yaml", load_intake_config),
        ("dispatch.yaml + " + (Path(settings.OFFERING_CONFIG).name if settings.OFFERING_CONFIG
                               else "offering.yaml"),
         lambda: load_dispatch_configs(settings.OFFERING_CONFIG or None)),
        ("settlement.yaml + pricebooks/", load_settlement),
        (Path(settings.GROUPS_CONFIG).name if settings.GROUPS_CONFIG else "groups.yaml",
         lambda: load_groups_config(settings.GROUPS_CONFIG or None)),
    ]
    for name, module, function, setting in _MORE:
        try:
            load = getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError):
            continue
        path = getattr(settings, setting, "") if setting else ""
        out.append((Path(path).name if path else name,
                    (lambda load=load, path=path: load(path or None)) if setting else load))
    return out


def check_config(settings: Settings) -> Result:
    errors: list[str] = []
    loaders = _loaders(settings)
    for name, load in loaders:
        try:
            load()
        except ConfigError as exc:
            errors += str(exc).splitlines()[:3]
        except OSError as exc:
            errors.append(f"{name}: {exc.strerror or exc}")
        except Exception as exc:  # a loader's own bug still names the file
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
    if errors:
        text = " | ".join(errors)
        return Result("config", "fail", say("config.fail", error=text), (say("config.fix"),))
    files = ", ".join(name for name, _ in loaders)
    zh, en = say("config.ok")
    return Result("config", "ok", (f"{zh}：{files}", f"{en}: {files}"))


# -- the database -------------------------------------------------------------------------


@dataclass
class DatabaseFindings:
    database: Result
    migrations: Result
    staff: list[str] | None  # active staff userids; None when they could not be read


def _script():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def _shown(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "base"


def head_revision() -> str:
    """This code's migration head(s), as ``alembic_version`` will hold them (several branches,
    which ``migrate`` applies together, are listed sorted, comma-separated)."""
    return _shown(set(_script().get_heads()))


def known_revisions() -> set[str]:
    return {s.revision for s in _script().walk_revisions()}


def check_database(url: str) -> DatabaseFindings:
    """Reachable; migrated to this code's head; and who the active staff are. Reads only: a
    missing SQLite file is not created here."""
    from alembic.runtime.migration import MigrationContext

    u = make_url(url)
    shown = u.render_as_string(hide_password=True)
    heads = set(_script().get_heads())
    head = _shown(heads)
    if (path := sqlite_file(url)) and not Path(path).exists():
        return DatabaseFindings(
            Result("database", "ok", say("database.new", url=shown)),
            Result("migrations", "fail", say("migrations.behind", current="—", head=head),
                   (say("migrations.behind.fix"),)), None)
    engine = create_engine(sync_url(url), poolclass=pool.NullPool,
                           connect_args={"connect_timeout": 5}
                           if u.get_backend_name() == "postgresql" else {})
    try:
        with engine.connect() as conn:
            conn.execute(select(literal(1)))
            revisions = set(MigrationContext.configure(conn).get_current_heads())
            current = _shown(revisions)
            staff: list[str] | None = None
            if revisions == heads:
                staff = list(conn.execute(select(Staff.userid).where(Staff.active)
                                          .order_by(Staff.userid)).scalars())
    except Exception as exc:  # whatever the driver says, for a person to read
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        skip = Result("migrations", "skip", say("skip.database"))
        return DatabaseFindings(Result("database", "fail", say("database.fail", url=shown,
                                                               error=reason),
                                       (say("database.fix"),)), skip, None)
    finally:
        engine.dispose()
    db = Result("database", "ok", say("database.ok", url=shown))
    if revisions == heads:
        return DatabaseFindings(db, Result("migrations", "ok", say("migrations.ok", rev=head)),
                                staff)
    if revisions - known_revisions():
        return DatabaseFindings(db, Result("migrations", "fail",
                                           say("migrations.unknown", current=current),
                                           (say("migrations.unknown.fix"),)), None)
    return DatabaseFindings(db, Result("migrations", "fail",
                                       say("migrations.behind", current=current, head=head),
                                       (say("migrations.behind.fix"),)), None)
