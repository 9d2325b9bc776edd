"""Who is calling: the user, their employee record and their roles per company."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from baoxiao.models.identity import Role


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    username: str
    display_name: str
    company_id: uuid.UUID
    employee_id: uuid.UUID | None
    roles: frozenset[tuple[str, uuid.UUID]] = field(default_factory=frozenset)
    token_id: uuid.UUID | None = None
    web_session_id: uuid.UUID | None = None
    locale: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"user:{self.user_id}"

    def has_role(self, role: Role, company_id: uuid.UUID) -> bool:
        return (role.value, company_id) in self.roles

    def companies_with(self, role: Role) -> set[uuid.UUID]:
        return {company for name, company in self.roles if name == role.value}

    @property
    def role_names(self) -> set[str]:
        return {name for name, _company in self.roles}
