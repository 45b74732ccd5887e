"""Secrets at rest: the admin token is stored as its hash, never in plain text (DESIGN §2)."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """SHA-256 of the token, hex. A random 192-bit token needs no salt or slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return bool(token) and bool(stored_hash) and hmac.compare_digest(token_hash(token), stored_hash)


def sign(secret: str, body: bytes) -> str:
    """``X-Linkback-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of the exact body (webhooks of
    mentions and of alerts)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
