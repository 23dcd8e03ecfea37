"""``INSERT … ON CONFLICT`` statements that SQLAlchemy can cache.

SQLAlchemy 2.0's PostgreSQL and SQLite ``insert()`` constructs set ``inherit_cache = False`` and
their ON CONFLICT clauses have no cache key, so every such statement is compiled anew each time
it runs (sqlalchemy/sqlalchemy#10445; SQLAlchemy 2.1 gives them cache keys). The outbox, timers,
inbox and card-code inserts run on every handled message: compiling them was about 6 % of the
handlers' transactions (``bench/tx_time.py`` under cProfile). Here the two ``Insert`` classes
inherit the standard INSERT's cache key, which already walks the ON CONFLICT clause, and the
clauses get a key of what they render: the conflict target, its WHERE, and what DO UPDATE sets.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import dml as pg_dml
from sqlalchemy.dialects.sqlite import dml as sqlite_dml
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.sqltypes import NULLTYPE


class _Keyed:
    """The cache key of an ON CONFLICT clause: everything it renders."""

    inherit_cache = True

    def _gen_cache_key(self, anon_map: Any, bindparams: list) -> tuple:
        def k(v: Any) -> Any:  # a SQL element's own key; a plain value (a column's name) itself
            return v._gen_cache_key(anon_map, bindparams) if hasattr(v, "_gen_cache_key") else v
        return (type(self), getattr(self, "constraint_target", None),
                None if self.inferred_target_elements is None
                else tuple(k(e) for e in self.inferred_target_elements),
                k(self.inferred_target_whereclause),
                tuple((k(c), k(v)) for c, v in getattr(self, "update_values_to_set", ())),
                k(getattr(self, "update_whereclause", None)))


_KEYED = {cls: type(cls.__name__, (_Keyed, cls), {"__module__": __name__})
          for cls in (sqlite_dml.OnConflictDoNothing, sqlite_dml.OnConflictDoUpdate,
                      pg_dml.OnConflictDoNothing, pg_dml.OnConflictDoUpdate)}


def _keyed(stmt: Any, args: tuple, kw: dict) -> Any:
    """``stmt`` (the dialect's own method checked and built it) with its clause made again
    as the keyed class: the methods' arguments are the clauses' constructors' arguments. A
    plain value DO UPDATE sets becomes a bound parameter, as SQLAlchemy 2.1 does: a new value
    is then a new parameter of the same cached statement (the compiler gives it the column's
    type), never a value baked into another statement's SQL."""
    clause = _KEYED[type(stmt._post_values_clause)](*args, **kw)
    if getattr(clause, "update_values_to_set", None):
        clause.update_values_to_set = [
            (c, coercions.expect(roles.ExpressionElementRole, v, type_=NULLTYPE, is_crud=True))
            for c, v in clause.update_values_to_set]
    stmt._post_values_clause = clause
    return stmt


class _KeyedConflicts:
    """The dialects' ``on_conflict_do_*`` with the keyed clauses (mixed into both Inserts)."""

    def on_conflict_do_nothing(self, *args: Any, **kw: Any) -> Any:
        return _keyed(super().on_conflict_do_nothing(*args, **kw), args, kw)  # type: ignore[misc]

    def on_conflict_do_update(self, *args: Any, **kw: Any) -> Any:
        return _keyed(super().on_conflict_do_update(*args, **kw), args, kw)  # type: ignore[misc]


class SqliteInsert(_KeyedConflicts, sqlite_dml.Insert):
    inherit_cache = True  # SQLAlchemy reads it from each class itself


class PgInsert(_KeyedConflicts, pg_dml.Insert):
    inherit_cache = True
