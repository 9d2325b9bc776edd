"""Payee bank accounts: encrypted at rest (AES-GCM bound to the employee), masked on read.

Only holders of bank_account:reveal (cashiers) see the full number; every
change is audited (masked values only) and needs the caller to prove who they are:
their current password when they have one (checked like a sign-in, so guesses lock
the account), else a sign-in or SSO confirmation in this browser session within the
re-authentication window (SSO-only accounts have no password to give).
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity import permissions, service
from baoxiao.identity.errors import InvalidCredentials
from baoxiao.identity.permissions import Right
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox
from baoxiao.models.identity import User
from baoxiao.models.org import Employee
from baoxiao.models.payment import BankAccount
from baoxiao.payments.errors import (
    BankAccountInvalid,
    BankAccountNotFound,
    ConfirmationRequired,
    ReauthenticationFailed,
)

log = logging.getLogger("baoxiao.payments.bankaccounts")
ACCOUNT_NUMBER = re.compile(r"^[0-9]{8,32}$")


@dataclass(frozen=True)
class BankDetails:
    holder_name: str
    bank_name: str
    account_number: str
    branch_name: str | None = None
    bank_code: str | None = None


def context(employee_id: uuid.UUID) -> str:
    """Binds a ciphertext to its employee: a number copied to another row will not decrypt."""
    return f"bank_account:{employee_id}"


def _employee(session: Session, principal: Principal, employee_id: uuid.UUID) -> Employee:
    employee = session.get(Employee, employee_id)
    if employee is None or not (
        employee.id == principal.employee_id
        # A cashier whose data scope reaches the employee, as it would their claims.
        or permissions.right_reaches_employee(session, principal, Right.CLAIM_PAY, employee)
        or permissions.has_right(principal, Right.ORG_ADMIN, employee.company_id)
    ):
        raise BankAccountNotFound()
    return employee


def account_of(session: Session, employee_id: uuid.UUID) -> BankAccount | None:
    return session.scalars(
        select(BankAccount).where(BankAccount.employee_id == employee_id)
    ).first()


def may_reveal(principal: Principal, account: BankAccount) -> bool:
    return permissions.has_right(principal, Right.BANK_ACCOUNT_REVEAL, account.company_id)


def reveal(box: SecretBox, account: BankAccount) -> str:
    return box.decrypt(account.account_cipher, context=context(account.employee_id))


def get(session: Session, principal: Principal, employee_id: uuid.UUID) -> BankAccount:
    """The employee's bank account, for themselves, finance and admins."""
    employee = _employee(session, principal, employee_id)
    account = account_of(session, employee.id)
    if account is None:
        raise BankAccountNotFound()
    return account


def put(
    session: Session,
    principal: Principal,
    box: SecretBox,
    employee_id: uuid.UUID,
    details: BankDetails,
    current_password: str | None,
    *,
    ip: str | None = None,
    recently_confirmed: bool = False,
) -> BankAccount:
    """Set the employee's payee account: only they or an admin, after re-entering their
    password (or, without one, a recent confirmation: `recently_confirmed`)."""
    employee = _employee(session, principal, employee_id)
    if employee.id != principal.employee_id:
        permissions.require_right(principal, Right.ORG_ADMIN, employee.company_id)
    proof = _reauthenticate(session, principal, employee, current_password, ip, recently_confirmed)
    number = re.sub(r"[\s-]", "", details.account_number)
    if not ACCOUNT_NUMBER.match(number):
        raise BankAccountInvalid(reason="the account number must be 8 to 32 digits")
    account = account_of(session, employee.id)
    before = account.masked if account else None
    now = utcnow()
    if account is None:
        account = BankAccount(
            id=uuid.uuid4(), company_id=employee.company_id, employee_id=employee.id, created_at=now
        )
        session.add(account)
    account.holder_name = details.holder_name
    account.bank_name = details.bank_name
    account.branch_name = details.branch_name
    account.bank_code = details.bank_code
    account.account_cipher = box.encrypt(number, context=context(employee.id))
    account.account_last4 = number[-4:]
    account.updated_by_id = principal.user_id
    account.updated_at = now
    session.flush()
    audit(
        session,
        actor=principal.actor,
        action="bank_account:update",
        subject_type="employee",
        subject_id=str(employee.id),
        company_id=str(employee.company_id),
        at=now,
        data={
            "before": before,
            "after": account.masked,
            "bank_name": account.bank_name,
            "holder_name": account.holder_name,
            "reauthenticated": proof,
        },
    )
    return account


def _reauthenticate(
    session: Session,
    principal: Principal,
    employee: Employee,
    password: str | None,
    ip: str | None,
    recently_confirmed: bool,
) -> str:
    """How the caller proved who they are ("password" or "recent_confirmation"). The
    password is counted towards lockout like a sign-in: guessing it through this form
    locks the account (429) as the sign-in page would."""
    user = session.get(User, principal.user_id)
    if user is not None and user.password_hash is None:
        if recently_confirmed:
            return "recent_confirmation"
        raise ConfirmationRequired()
    if not password:
        raise ReauthenticationFailed()  # forgotten, not guessed: no failure to count
    try:
        service.verify_own_password(session, principal, password, ip=ip)
    except InvalidCredentials as exc:
        # The request's transaction ends in this error (only the failure count is kept),
        # so this goes to the log, not the audit chain.
        log.warning(
            "bank account change for employee %s: re-authentication failed by %s",
            employee.id,
            principal.actor,
        )
        raise ReauthenticationFailed() from exc
    return "password"


def rewrap(session: Session, box: SecretBox) -> int:
    """Re-encrypt every account number still under an old key; returns how many."""
    count = 0
    for account in session.scalars(select(BankAccount).with_for_update()):
        if box.needs_rotation(account.account_cipher):
            number = reveal(box, account)
            account.account_cipher = box.encrypt(number, context=context(account.employee_id))
            count += 1
    session.flush()
    return count
