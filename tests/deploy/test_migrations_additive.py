"""The rolling upgrade of docs/deployment.md runs the old code on the migrated database for a few
minutes, which is safe only while every migration's ``upgrade()`` adds: no table or column
dropped, renamed or changed, and no new NOT NULL column without a server default (the old code's
INSERTs do not fill it). This test reads every migration and names any step that breaks that;
such a release must say so and be deployed with all processes stopped. Raw SQL passed to
``op.execute`` is not read."""

from __future__ import annotations

import ast

from models.db import MIGRATIONS

#: op.* calls an upgrade may make while old code runs on the database
ADDITIVE = {"create_table", "add_column", "create_index", "create_unique_constraint",
            "create_foreign_key", "create_check_constraint", "bulk_insert", "execute",
            "get_bind", "batch_alter_table", "f", "create_primary_key"}


def _upgrade(tree: ast.Module) -> ast.FunctionDef | None:
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef)
                 and n.name == "upgrade"), None)


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def problems_in(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    upgrade = _upgrade(tree)
    if upgrade is None:
        return []
    found = []
    for node in ast.walk(upgrade):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        owner = node.func.value
        is_op = isinstance(owner, ast.Name) and owner.id in ("op", "batch_op", "batch")
        if is_op and name not in ADDITIVE:
            found.append(f"{path.name}:{node.lineno}: {owner.id}.{name}")
        if is_op and name == "add_column":
            column = next((a for a in node.args if isinstance(a, ast.Call)), None)
            if column is None:
                continue
            nullable = _kw(column, "nullable")
            if (isinstance(nullable, ast.Constant) and nullable.value is False
                    and _kw(column, "server_default") is None):
                found.append(f"{path.name}:{node.lineno}: NOT NULL column without a "
                             f"server_default")
    return found


def test_the_checker_sees_a_drop_and_a_not_null_column(tmp_path):
    bad = tmp_path / "0099_bad.py"
    bad.write_text("def upgrade():\n    op.drop_column('t', 'c')\n"
                   "    op.add_column('t', sa.Column('d', sa.Integer(), nullable=False))\n"
                   "    op.add_column('t', sa.Column('e', sa.Integer(), nullable=False,"
                   " server_default='0'))\n"
                   "def downgrade():\n    op.drop_table('t')\n")
    assert problems_in(bad) == ["0099_bad.py:2: op.drop_column",
                                "0099_bad.py:3: NOT NULL column without a server_default"]


def test_every_migration_only_adds():
    found = [p for path in sorted((MIGRATIONS / "versions").glob("*.py"))
             for p in problems_in(path)]
    assert not found, found
