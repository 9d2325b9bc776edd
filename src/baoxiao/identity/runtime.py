"""What sign-in needs from the instance, carried by every database session.

check_password is called with a session only (API token login, the sign-in page,
re-authentication), yet it needs the instance's SecretBox (TOTP secrets) and the
lockout policy. create_app installs both into the session factory's `info`, so any
session of the application carries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.db import Database


@dataclass(frozen=True)
class SignInPolicy:
    lock_after: int = 5  # failed attempts on one account in a row ...
    lock_for: timedelta = timedelta(minutes=15)  # ... lock it this long
    ip_limit: int = 20  # failed attempts from one address ...
    ip_window: timedelta = timedelta(minutes=15)  # ... within this window throttle it


DEFAULT_POLICY = SignInPolicy()


def install(db: Database, *, box: SecretBox, policy: SignInPolicy = DEFAULT_POLICY) -> None:
    """Make the box and the policy available to every session of `db`."""
    info = dict(db.session_factory.kw.get("info") or {})
    info.update(secret_box=box, sign_in_policy=policy)
    db.session_factory.configure(info=info)


def secret_box(session: Session) -> SecretBox:
    box = session.info.get("secret_box")
    if not isinstance(box, SecretBox):
        raise RuntimeError("identity.runtime.install() was not called for this database")
    return box


def sign_in_policy(session: Session) -> SignInPolicy:
    policy = session.info.get("sign_in_policy", DEFAULT_POLICY)
    assert isinstance(policy, SignInPolicy)
    return policy
