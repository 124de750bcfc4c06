"""cycle fiscal year

The fiscal year whose appropriation funds a cycle, chosen at creation (CreateCycleRequest.fiscal_year:
the year the window opens, or the next for a December call). Cycles recorded before keep 0, read as
the year their window opened (how it was derived then).

Revision ID: 20261206_033727
Revises: 20261206_025642
Create Date: 2026-12-06 03:37:27.626842
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_033727"
down_revision: str | None = "20261206_025642"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fiscal_year", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_column("fiscal_year")
