"""decision log, status history, policy hash, uscc

The cycle's decision log (cycle_decisions), each application's status history
(application_status_changes, rows only ever added), the policy snapshot's version and SHA-256 on
cycles, and the applicant's USCC on applications. Existing rows are carried over: each cycle's hash
and version are computed from its stored snapshot; each application's history is rebuilt from what
its row knows (drafted, submitted or found ineligible, recommended or not by its city); the USCC of
an existing application is left empty (identity holds it).

Revision ID: 20261206_025642
Revises: 20261127_024827
Create Date: 2026-12-06 02:56:42.552282
"""

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_025642"
down_revision: str | None = "20261127_024827"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cycle_decisions",
        sa.Column("decision_id", sa.String(length=64), nullable=False),
        sa.Column("cycle_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_user_id", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("proposal_version", sa.Integer(), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.cycle_id"]),
        sa.PrimaryKeyConstraint("decision_id"),
        sa.UniqueConstraint("cycle_id", "idempotency_key"),
    )
    with op.batch_alter_table("cycle_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cycle_decisions_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "application_status_changes",
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cycle_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.application_id"]),
        sa.PrimaryKeyConstraint("application_id", "seq"),
    )
    with op.batch_alter_table("application_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_status_changes_cycle_id"), ["cycle_id"], unique=False
        )

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uscc", sa.String(length=18), server_default="", nullable=False))

    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("policy_version", sa.String(length=100), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("policy_sha256", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_cycles_policy_sha256"), ["policy_sha256"], unique=False)

    _carry_over_cycles()
    _carry_over_histories()


def _carry_over_cycles() -> None:
    """Each existing cycle's snapshot hash, and its version: the n-th distinct content of its policy
    id, in the order the cycles were created (what CreateCycle computes from now on)."""
    bind = op.get_bind()
    cycles = sa.table(
        "cycles",
        sa.column("cycle_id", sa.String),
        sa.column("policy_id", sa.String),
        sa.column("policy_json", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("policy_version", sa.String),
        sa.column("policy_sha256", sa.String),
    )
    seen: dict[str, list[str]] = {}
    rows = bind.execute(
        sa.select(cycles.c.cycle_id, cycles.c.policy_id, cycles.c.policy_json).order_by(
            cycles.c.created_at, cycles.c.cycle_id
        )
    ).all()
    for cycle_id, policy_id, policy_json in rows:
        sha = hashlib.sha256(str(policy_json).encode("utf-8")).hexdigest()
        known = seen.setdefault(policy_id, [])
        if sha not in known:
            known.append(sha)
        bind.execute(
            cycles.update()
            .where(cycles.c.cycle_id == cycle_id)
            .values(policy_sha256=sha, policy_version=f"{policy_id}/v{known.index(sha) + 1}")
        )


def _steps(row: Any, recorded_at: Any) -> list[tuple[str, Any, str]]:
    """What an application's row tells of its history: (status, at, note), oldest first."""
    steps = [("DRAFT", row.created_at, "创建申报（草稿）")]
    if row.submitted_at is None or row.status == "DRAFT":
        return steps
    failures = row.eligibility_failures
    if isinstance(failures, str):
        failures = json.loads(failures)
    if row.status == "INELIGIBLE":
        reasons = "；".join(
            f"{f.get('message_zh') or f.get('message')}（{f.get('article')}）" for f in failures or []
        )
        return [*steps, ("INELIGIBLE", row.submitted_at, f"资格审查未通过：{reasons}")]
    steps.append(("SUBMITTED", row.submitted_at, "提交申报，资格审查通过"))
    doc = row.recommendation_document_no
    if row.status == "RECOMMENDED":
        steps.append(
            ("RECOMMENDED", recorded_at or row.submitted_at, f"获市工信局、市财政局联合推荐（文号 {doc}）")
        )
    elif row.status == "NOT_RECOMMENDED":
        steps.append(("NOT_RECOMMENDED", recorded_at or row.submitted_at, f"未获市级推荐（文号 {doc}）"))
    return steps


def _carry_over_histories() -> None:
    bind = op.get_bind()
    apps = sa.table(
        "applications",
        sa.column("application_id", sa.String),
        sa.column("cycle_id", sa.String),
        sa.column("city_code", sa.String),
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("submitted_at", sa.DateTime(timezone=True)),
        sa.column("eligibility_failures", sa.JSON),
        sa.column("recommendation_document_no", sa.String),
    )
    recs = sa.table(
        "recommendations",
        sa.column("cycle_id", sa.String),
        sa.column("city_code", sa.String),
        sa.column("recorded_at", sa.DateTime(timezone=True)),
    )
    changes = sa.table(
        "application_status_changes",
        sa.column("application_id", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("cycle_id", sa.String),
        sa.column("status", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("note", sa.Text),
    )
    recorded = {(c, city): at for c, city, at in bind.execute(sa.select(recs)).all()}
    for row in bind.execute(sa.select(apps)).all():
        steps = _steps(row, recorded.get((row.cycle_id, row.city_code)))
        bind.execute(
            changes.insert(),
            [
                {
                    "application_id": row.application_id,
                    "seq": n,
                    "cycle_id": row.cycle_id,
                    "status": status,
                    "at": at,
                    "note": note,
                }
                for n, (status, at, note) in enumerate(steps, start=1)
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cycles_policy_sha256"))
        batch_op.drop_column("policy_sha256")
        batch_op.drop_column("policy_version")

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("uscc")

    with op.batch_alter_table("application_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_status_changes_cycle_id"))

    op.drop_table("application_status_changes")
    with op.batch_alter_table("cycle_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cycle_decisions_cycle_id"))

    op.drop_table("cycle_decisions")
