"""HS256 JSON Web Tokens shaped like Cloudgene 3 API tokens, with the standard library only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_jwt(claims: dict[str, Any], secret: bytes) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def decode_jwt(token: str, secret: bytes, *, now: float | None = None) -> dict[str, Any] | None:
    """The claims of a token signed with ``secret`` that has not expired, else None."""
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            return None
        claims = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp <= (time.time() if now is None else now):
        return None
    return claims


def api_token(username: str, api_hash: str, secret: bytes, *, lifetime: float = 30 * 86400) -> str:
    """A Cloudgene 3 API token for ``username`` valid for ``lifetime`` seconds."""
    now = int(time.time())
    claims = {
        "sub": username,
        "username": username,
        "name": username.title(),
        "mail": f"{username}@example.org",
        "api": True,
        "token_type": "API_TOKEN",
        "api_hash": api_hash,
        "iat": now,
        "exp": now + int(lifetime),
    }
    return encode_jwt(claims, secret)
