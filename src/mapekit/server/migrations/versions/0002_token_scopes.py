"""Admin tokens get scopes (``read``, ``write``); existing tokens keep full access.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_tokens") as batch:
        batch.add_column(
            sa.Column("scopes", sa.String(32), nullable=False, server_default="read,write")
        )


def downgrade() -> None:
    with op.batch_alter_table("admin_tokens") as batch:
        batch.drop_column("scopes")
