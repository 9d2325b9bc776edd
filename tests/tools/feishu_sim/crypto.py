"""Feishu's callback crypto, written from the published protocol (simulator side).

- Encryption: key = SHA-256(Encrypt Key); body = base64(IV(16) || AES-256-CBC(PKCS#7(json))).
- Signature: hex SHA-256 of timestamp + nonce + Encrypt Key + raw body bytes, sent as
  X-Lark-Signature with X-Lark-Request-Timestamp and X-Lark-Request-Nonce.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode()).digest()


def encrypt(encrypt_key: str, plaintext: bytes, iv: bytes | None = None) -> str:
    iv = iv if iv is not None else os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + enc.update(padded) + enc.finalize()).decode()


def decrypt(encrypt_key: str, token: str) -> bytes:
    raw = base64.b64decode(token)
    if len(raw) < 32 or len(raw) % 16:
        raise ValueError("invalid ciphertext length")
    dec = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(raw[:16])).decryptor()
    padded = dec.update(raw[16:]) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def signed_headers(encrypt_key: str | None, body: bytes) -> dict[str, str]:
    """The headers Feishu sends with every push; the signature only when a key is set."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
    }
    if encrypt_key:
        headers["X-Lark-Signature"] = signature(timestamp, nonce, encrypt_key, body)
    return headers
