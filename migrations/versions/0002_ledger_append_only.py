"""ledger append-only: the database refuses UPDATE and DELETE on the hours ledger's tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 12:00:00

hour_entries, hour_entry_events and hour_evidence are append-only (hours/ledger/models.py): a
correction is a new entry and a status change is a new event. These triggers make the
database itself refuse any UPDATE or DELETE of their rows, whatever the client. TRUNCATE
(PostgreSQL) and DROP TABLE are not row changes and stay possible for administrators and tests.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("hour_entries", "hour_entry_events", "hour_evidence")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION hours_ledger_refuse_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END;
            $$
        """)
        for table in APPEND_ONLY_TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION hours_ledger_refuse_change()")
    else:
        for table in APPEND_ONLY_TABLES:
            for operation in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS hours_ledger_refuse_change()")
    else:
        for table in APPEND_ONLY_TABLES:
            for operation in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")
