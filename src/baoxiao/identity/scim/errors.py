"""SCIM errors (RFC 7644 §3.12): rendered as SCIM Error messages, not problem+json."""

from __future__ import annotations


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def not_found(what: str = "Resource") -> ScimError:
    return ScimError(404, f"{what} not found")


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def uniqueness(detail: str) -> ScimError:
    return ScimError(409, detail, "uniqueness")


def mutability(detail: str) -> ScimError:
    """The change is not allowed in the resource's current state (RFC 7644 §3.12)."""
    return ScimError(400, detail, "mutability")
