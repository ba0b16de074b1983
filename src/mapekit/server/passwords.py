"""Passwords of the IPIP update endpoint, stored as scrypt hashes.

A stored hash is ``scrypt$N$r$p$SALT$HASH`` (hex), so the cost can rise later without
invalidating old hashes. Checking a password against no hash (an unknown user) costs the
same as against a real one, so the answer's timing does not tell which users exist.
Admin tokens are random and long, so a plain SHA-256 suffices for them
(:mod:`mapekit.server.tokens`); passwords are chosen by people and need a slow hash.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

N, R, P = 1 << 14, 8, 1  # 16 MiB and about 0.1 s per hash
SALT_BYTES, HASH_BYTES = 16, 32
MAX_MEMORY = 64 << 20
MIN_LENGTH, MAX_LENGTH = 8, 256


def check_password(password: str) -> str:
    """A password that may be stored: 8-256 characters without control characters (the
    reason never repeats the password)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValueError(f"must have {MIN_LENGTH} to {MAX_LENGTH} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in password):
        raise ValueError("must not hold control characters")
    return password


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY,
                          dklen=HASH_BYTES)  # fmt: skip


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    return f"scrypt${N}${R}${P}${salt.hex()}${_derive(password, salt, N, R, P).hex()}"


@functools.cache
def _dummy() -> str:
    return hash_password(secrets.token_urlsafe(16))


def verify_password(stored: str | None, password: str) -> bool:
    """Does ``password`` match ``stored``? (None or a malformed hash never matches.)"""
    parts = (stored or _dummy()).split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or len(password) > MAX_LENGTH:
        return False
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, expected = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
        actual = _derive(password, salt, n, r, p)
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected) and stored is not None


__all__ = ["check_password", "hash_password", "verify_password"]
