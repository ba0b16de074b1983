"""Initial schema: rule sets, vendor codes, subscribers, reports, audit log, admin tokens.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("dmr", sa.String(64), nullable=False),
        sa.Column("ipv6_fixlen", sa.Integer, nullable=True),
        sa.Column("iid", sa.String(8), nullable=False),
        sa.Column("mesh", sa.Boolean, nullable=False),
        sa.Column("ttl", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "rule_set_id",
            sa.Integer,
            sa.ForeignKey("rule_sets.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("ipv6_prefix", sa.String(64), nullable=False),
        sa.Column("ipv4_prefix", sa.String(32), nullable=False),
        sa.Column("ea_len", sa.Integer, nullable=False),
        sa.Column("psid_offset", sa.Integer, nullable=False),
        sa.Column("br", sa.String(64), nullable=True),
    )
    op.create_table(
        "vendor_codes",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "subscribers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("prefix", sa.String(64), nullable=False),
        sa.Column("prefix_len", sa.SmallInteger, nullable=False),
        sa.Column("prefix_hi", sa.BigInteger, nullable=False),
        sa.Column("hgw_rental", sa.Boolean, nullable=False),
        sa.Column("target", sa.String(8), nullable=False),
        sa.Column("rule_set_id", sa.Integer, sa.ForeignKey("rule_sets.id"), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("prefix_len", "prefix_hi", name="uq_subscribers_prefix"),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("subscriber_id", sa.String(64), nullable=True, index=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("action", sa.Integer, nullable=False),
        sa.Column("reason", sa.Integer, nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(128), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old", sa.String(256), nullable=True),
        sa.Column("new", sa.String(256), nullable=True),
    )
    op.create_table(
        "prefix_lengths",
        sa.Column("prefix_len", sa.SmallInteger, primary_key=True, autoincrement=False),
    )
    op.create_table(
        "admin_tokens",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "admin_tokens",
        "prefix_lengths",
        "audit_log",
        "reports",
        "subscribers",
        "vendor_codes",
        "rules",
        "rule_sets",
    ):
        op.drop_table(table)
