"""Link tokens: random, shown once, stored only as a hash."""

import base64
import hashlib
import hmac
import secrets

from django.utils.crypto import salted_hmac

TOKEN_BYTES = 24  # 192 bits of randomness


def new_token() -> tuple[str, str]:
    """Return a fresh URL-safe token and the hash to store for it."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a link token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    """Compare a presented token with a stored hash in constant time."""
    return hmac.compare_digest(hash_token(token), stored_hash)


def derived_token(salt: str, secret: str) -> str:
    """Return the token a stored random `secret` gives under SECRET_KEY.

    For links that must be shown or emailed again: the database keeps the
    secret and the token's hash, neither of which alone opens anything.
    """
    digest = salted_hmac(salt, secret, algorithm="sha256").digest()
    raw = digest[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
