"""Gap-tolerant, concurrency-safe counters (claim numbers, payment references)."""

from __future__ import annotations

import uuid

from sqlalchemy import String, Uuid
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from baoxiao.kernel.db import Base


class NumberSequence(Base):
    __tablename__ = "number_sequences"

    company_id: Mapped[uuid.UUID] = mapped_column(Uuid(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_value: Mapped[int]


def next_value(session: Session, company_id: uuid.UUID, name: str) -> int:
    """Atomically take the next value; the row lock is held until commit."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    base = insert(NumberSequence).values(company_id=company_id, name=name, last_value=1)
    stmt = base.on_conflict_do_update(
        index_elements=[NumberSequence.company_id, NumberSequence.name],
        set_={"last_value": NumberSequence.last_value + 1},
    ).returning(NumberSequence.last_value)
    return int(session.execute(stmt).scalar_one())
