"""pool version: the technician pool's change feed (``pool_version``, ``technician_change``)
and the triggers that fill it (models/pool_feed.py explains why)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 01:10:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

KEEP = 20000  # models/pool_feed.py KEEP

# The columns whose change moves a technician: a ticket's holder, its status (load) and its
# score (rating); an offer's status (accepts: response speed, jobs today).
_TICKET_MOVED = ("OLD.assignee IS NOT NEW.assignee OR OLD.status IS NOT NEW.status "
                 "OR OLD.satisfaction IS NOT NEW.satisfaction")
_OFFER_MOVED = ("(OLD.status IS NOT NEW.status OR OLD.answered_at IS NOT NEW.answered_at "
                "OR OLD.technician IS NOT NEW.technician) "
                "AND (OLD.status = 'accepted' OR NEW.status = 'accepted')")


def _sqlite_record(who: str) -> str:
    return (
        "INSERT INTO pool_version (id, version) VALUES (1, 1) "
        "ON CONFLICT (id) DO UPDATE SET version = version + 1;\n"
        f"INSERT INTO technician_change (version, userid) SELECT version, {who} "
        "FROM pool_version WHERE id = 1;\n"
        f"DELETE FROM technician_change WHERE version <= "
        f"(SELECT version FROM pool_version WHERE id = 1) - {KEEP};\n")


def _sqlite_triggers() -> list[str]:
    both = lambda a, b: _sqlite_record(a) + _sqlite_record(b)  # noqa: E731
    return [
        "CREATE TRIGGER tc_staff_ins AFTER INSERT ON staff BEGIN\n"
        + _sqlite_record("NEW.userid") + "END",
        "CREATE TRIGGER tc_staff_upd AFTER UPDATE ON staff BEGIN\n"
        + both("OLD.userid", "NEW.userid") + "END",
        "CREATE TRIGGER tc_staff_del AFTER DELETE ON staff BEGIN\n"
        + _sqlite_record("OLD.userid") + "END",
        "CREATE TRIGGER tc_ticket_ins AFTER INSERT ON ticket WHEN NEW.assignee IS NOT NULL "
        "BEGIN\n" + _sqlite_record("NEW.assignee") + "END",
        "CREATE TRIGGER tc_ticket_upd_old AFTER UPDATE ON ticket "
        f"WHEN OLD.assignee IS NOT NULL AND ({_TICKET_MOVED}) BEGIN\n"
        + _sqlite_record("OLD.assignee") + "END",
        "CREATE TRIGGER tc_ticket_upd_new AFTER UPDATE ON ticket "
        "WHEN NEW.assignee IS NOT NULL AND OLD.assignee IS NOT NEW.assignee BEGIN\n"
        + _sqlite_record("NEW.assignee") + "END",
        "CREATE TRIGGER tc_ticket_del AFTER DELETE ON ticket WHEN OLD.assignee IS NOT NULL "
        "BEGIN\n" + _sqlite_record("OLD.assignee") + "END",
        "CREATE TRIGGER tc_offer_ins AFTER INSERT ON dispatch_offer "
        "WHEN NEW.status = 'accepted' BEGIN\n" + _sqlite_record("NEW.technician") + "END",
        f"CREATE TRIGGER tc_offer_upd AFTER UPDATE ON dispatch_offer WHEN {_OFFER_MOVED} "
        "BEGIN\n" + both("OLD.technician", "NEW.technician") + "END",
        "CREATE TRIGGER tc_offer_del AFTER DELETE ON dispatch_offer "
        "WHEN OLD.status = 'accepted' BEGIN\n" + _sqlite_record("OLD.technician") + "END",
    ]


_PG_FUNCTIONS = [
    f"""CREATE FUNCTION technician_changed(uid text) RETURNS void AS $$
DECLARE v bigint;
BEGIN
  INSERT INTO pool_version (id, version) VALUES (1, 1)
    ON CONFLICT (id) DO UPDATE SET version = pool_version.version + 1 RETURNING version INTO v;
  INSERT INTO technician_change (version, userid) VALUES (v, uid);
  DELETE FROM technician_change WHERE version <= v - {KEEP};
END $$ LANGUAGE plpgsql""",
    """CREATE FUNCTION tc_staff() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN PERFORM technician_changed(OLD.userid); END IF;
  IF TG_OP <> 'DELETE' THEN
    IF TG_OP = 'INSERT' OR OLD.userid IS DISTINCT FROM NEW.userid THEN
      PERFORM technician_changed(NEW.userid);
    END IF;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION tc_ticket() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.assignee IS NOT NULL THEN PERFORM technician_changed(NEW.assignee); END IF;
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD.assignee IS NOT NULL THEN PERFORM technician_changed(OLD.assignee); END IF;
  ELSE
    IF OLD.assignee IS NOT NULL AND ({_TICKET_MOVED.replace('IS NOT', 'IS DISTINCT FROM')}) THEN
      PERFORM technician_changed(OLD.assignee);
    END IF;
    IF NEW.assignee IS NOT NULL AND OLD.assignee IS DISTINCT FROM NEW.assignee THEN
      PERFORM technician_changed(NEW.assignee);
    END IF;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION tc_offer() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status = 'accepted' THEN PERFORM technician_changed(NEW.technician); END IF;
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD.status = 'accepted' THEN PERFORM technician_changed(OLD.technician); END IF;
  ELSIF {_OFFER_MOVED.replace('IS NOT', 'IS DISTINCT FROM')} THEN
    PERFORM technician_changed(OLD.technician);
    IF OLD.technician IS DISTINCT FROM NEW.technician THEN
      PERFORM technician_changed(NEW.technician);
    END IF;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER tc_staff AFTER INSERT OR UPDATE OR DELETE ON staff "
    "FOR EACH ROW EXECUTE FUNCTION tc_staff()",
    "CREATE TRIGGER tc_ticket AFTER INSERT OR UPDATE OR DELETE ON ticket "
    "FOR EACH ROW EXECUTE FUNCTION tc_ticket()",
    "CREATE TRIGGER tc_offer AFTER INSERT OR UPDATE OR DELETE ON dispatch_offer "
    "FOR EACH ROW EXECUTE FUNCTION tc_offer()",
]


def upgrade() -> None:
    op.create_table(
        'pool_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'technician_change',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
                  nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('userid', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('technician_change', schema=None) as batch_op:
        batch_op.create_index('ix_technician_change_version', ['version'], unique=False)
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_assignee_status', ['assignee', 'status'], unique=False)
    op.execute("INSERT INTO pool_version (id, version) VALUES (1, 0)")
    statements = (_PG_FUNCTIONS if op.get_bind().dialect.name == "postgresql"
                  else _sqlite_triggers())
    for sql in statements:
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for t, table in (("tc_staff", "staff"), ("tc_ticket", "ticket"),
                         ("tc_offer", "dispatch_offer")):
            op.execute(f"DROP TRIGGER IF EXISTS {t} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {t}()")
        op.execute("DROP FUNCTION IF EXISTS technician_changed(text)")
    else:
        for t in ("tc_staff_ins", "tc_staff_upd", "tc_staff_del", "tc_ticket_ins",
                  "tc_ticket_upd_old", "tc_ticket_upd_new", "tc_ticket_del", "tc_offer_ins",
                  "tc_offer_upd", "tc_offer_del"):
            op.execute(f"DROP TRIGGER IF EXISTS {t}")
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_assignee_status')
    op.drop_table('technician_change')
    op.drop_table('pool_version')
