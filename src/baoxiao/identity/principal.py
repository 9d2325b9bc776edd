"""Who is calling: the user, their employee record, their grants and their token's scopes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from baoxiao.models.identity import DataScope, Role


@dataclass(frozen=True)
class Grant:
    """A role held in a company, reaching the claims its data scope names."""

    role: str
    company_id: uuid.UUID
    scope: str = DataScope.COMPANY.value
    department_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    username: str
    display_name: str
    company_id: uuid.UUID
    employee_id: uuid.UUID | None
    # (role, company) pairs: what approval pools and older callers look at.
    roles: frozenset[tuple[str, uuid.UUID]] = field(default_factory=frozenset)
    token_id: uuid.UUID | None = None
    web_session_id: uuid.UUID | None = None
    locale: str | None = None
    # The same roles with their data scopes; empty means "company scope for every role".
    grants: frozenset[Grant] = field(default_factory=frozenset)
    # The API token's scopes; None for login tokens and browser sessions (no limit).
    token_scopes: frozenset[str] | None = None
    # The bearer token's kind ("login", "personal") and when it was issued: a login
    # token is a fresh sign-in only for the re-authentication window.
    token_kind: str | None = None
    token_issued_at: datetime | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"user:{self.user_id}"

    @property
    def all_grants(self) -> frozenset[Grant]:
        if self.grants:
            return self.grants
        return frozenset(Grant(name, company) for name, company in self.roles)

    def has_role(self, role: Role, company_id: uuid.UUID) -> bool:
        return (role.value, company_id) in self.roles

    def companies_with(self, role: Role) -> set[uuid.UUID]:
        return {company for name, company in self.roles if name == role.value}

    @property
    def role_names(self) -> set[str]:
        return {name for name, _company in self.roles}
