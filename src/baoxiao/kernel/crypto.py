"""Secrets: the instance key, token digests, and authenticated encryption at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def load_or_create_secret_key(path: Path) -> str:
    """Read the instance secret from `path`, creating it (mode 0600) on first run."""
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if len(value) < 32:
            raise ValueError(f"secret key in {path} is too short (need 32+ characters)")
        return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def token_digest(token: str) -> str:
    """SHA-256 of a high-entropy token, as stored in the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def derive_key(secret: str, purpose: str, length: int = 32) -> bytes:
    """A sub-key for one purpose, so one leaked use does not expose the others."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )


class SecretBox:
    """AES-256-GCM with key ids, so keys can rotate: new writes use the first key,
    reads accept any configured key.

    Token format: ``v1.<key id>.<base64url(nonce || ciphertext)>``.
    """

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("current key id is not among the keys")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = current

    @classmethod
    def from_secret(cls, secret: str, *, old_secrets: tuple[str, ...] = ()) -> SecretBox:
        keys: dict[str, bytes] = {}
        ordered = (secret, *old_secrets)
        for value in ordered:
            key = derive_key(value, "baoxiao:secretbox")
            keys[hashlib.sha256(key).hexdigest()[:8]] = key
        current = hashlib.sha256(derive_key(secret, "baoxiao:secretbox")).hexdigest()[:8]
        return cls(keys, current)

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), context.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"v1.{self._current}.{blob}"

    def decrypt(self, token: str, *, context: str = "") -> str:
        version, kid, blob = token.split(".", 2)
        if version != "v1" or kid not in self._keys:
            raise ValueError("unknown secret box version or key id")
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        return self._keys[kid].decrypt(raw[:12], raw[12:], context.encode()).decode()

    def needs_rotation(self, token: str) -> bool:
        return token.split(".", 2)[1] != self._current
