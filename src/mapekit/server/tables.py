"""The rule server's tables for queries (the schema itself comes from the migrations)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

rule_sets = sa.Table(
    "rule_sets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("dmr", sa.String(64), nullable=False),
    sa.Column("ipv6_fixlen", sa.Integer, nullable=True),
    sa.Column("iid", sa.String(8), nullable=False),
    sa.Column("mesh", sa.Boolean, nullable=False),
    sa.Column("ttl", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

rules = sa.Table(
    "rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule_set_id", sa.Integer, sa.ForeignKey("rule_sets.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("ipv6_prefix", sa.String(64), nullable=False),
    sa.Column("ipv4_prefix", sa.String(32), nullable=False),
    sa.Column("ea_len", sa.Integer, nullable=False),
    sa.Column("psid_offset", sa.Integer, nullable=False),
    sa.Column("br", sa.String(64), nullable=True),
)

vendor_codes = sa.Table(
    "vendor_codes",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("prefix", sa.String(64), nullable=False),
    sa.Column("prefix_len", sa.SmallInteger, nullable=False),
    sa.Column("prefix_hi", sa.BigInteger, nullable=False),
    sa.Column("hgw_rental", sa.Boolean, nullable=False),
    sa.Column("target", sa.String(8), nullable=False),
    sa.Column("rule_set_id", sa.Integer, sa.ForeignKey("rule_sets.id"), nullable=True),
    sa.Column("token", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    # mechanisms (migration 0003): the order, and each one's parameters
    sa.Column("mechanisms", sa.String(32), nullable=False, server_default="map_e"),
    sa.Column("aftr", sa.String(255), nullable=True),
    sa.Column("ipip_remote", sa.String(64), nullable=True),
    sa.Column("ipip_ipv4", sa.String(32), nullable=True),
    sa.Column("ipip_interface_id", sa.String(64), nullable=True),
    sa.Column("update_user", sa.String(64), nullable=True, unique=True),
    sa.Column("update_password_hash", sa.String(160), nullable=True),
    sa.Column("ipip_local_current", sa.String(64), nullable=True),
    sa.Column("ipip_updated_at", sa.Float, nullable=True),
)

reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("subscriber_id", sa.String(64), nullable=True),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("action", sa.Integer, nullable=False),
    sa.Column("reason", sa.Integer, nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(128), nullable=False),
    sa.Column("field", sa.String(32), nullable=False),
    sa.Column("old", sa.String(256), nullable=True),
    sa.Column("new", sa.String(256), nullable=True),
)

admin_tokens = sa.Table(
    "admin_tokens",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("scopes", sa.String(32), nullable=False),
)

change_counters = sa.Table(
    "change_counters",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

prefix_lengths = sa.Table(
    "prefix_lengths",
    metadata,
    sa.Column("prefix_len", sa.SmallInteger, primary_key=True, autoincrement=False),
)
