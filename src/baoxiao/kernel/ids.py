"""Identifiers: time-sortable UUIDs (ULID layout) and random secrets."""

from __future__ import annotations

import secrets
import uuid

from ulid import ULID


def new_id() -> uuid.UUID:
    """A new primary key: a ULID in UUID form, so indexes stay append-mostly."""
    return ULID().to_uuid()


def new_ulid() -> str:
    """A new ULID string (26 chars), used where ids travel as text (events)."""
    return str(ULID())


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random token for secrets, file names and API tokens."""
    return secrets.token_urlsafe(nbytes)
