"""Subscribers get mechanisms: an order (``map_e`` for existing rows) and the parameters of
DS-Lite (the AFTR) and IPIP (endpoint, fixed IPv4, interface id, update credentials and
the CE's last reported address); the rule set becomes optional (a DS-Lite or IPIP line
has none); a change counter tells the IPIP endpoint when its tunnels changed.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = (
    ("aftr", sa.String(255)),
    ("ipip_remote", sa.String(64)),
    ("ipip_ipv4", sa.String(32)),
    ("ipip_interface_id", sa.String(64)),
    ("update_user", sa.String(64)),
    ("update_password_hash", sa.String(160)),
    ("ipip_local_current", sa.String(64)),
    ("ipip_updated_at", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.alter_column("rule_set_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(
            sa.Column("mechanisms", sa.String(32), nullable=False, server_default="map_e")
        )
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.create_unique_constraint("uq_subscribers_update_user", ["update_user"])
    counters = op.create_table(
        "change_counters",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(counters, [{"name": "ipip", "value": 0}])


def downgrade() -> None:
    op.drop_table("change_counters")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_constraint("uq_subscribers_update_user", type_="unique")
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
        batch.drop_column("mechanisms")
        batch.alter_column("rule_set_id", existing_type=sa.Integer(), nullable=False)
