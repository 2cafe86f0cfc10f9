"""Checks a server makes as it starts, before its first request."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# The thresholds of Django's own deploy check (security.W009).
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5


def weak_secret_key_reason(key: str) -> str:
    """Return why a secret key is too weak to sign anything, or ""."""
    if key.startswith("django-insecure-"):
        return "it is a development key (it starts with django-insecure-)"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it has {len(key)} characters, fewer than {SECRET_KEY_MIN_LENGTH}"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return (
            f"it uses {len(set(key))} different characters, fewer than "
            f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS}"
        )
    return ""


def require_secret_key() -> None:
    """Stop a server from starting without a strong secret key (DEBUG off).

    Settings leave the key empty so that commands which sign nothing still
    run; Django refuses to use an empty key, which a server would otherwise
    discover only at its first request. A short or repetitive key would let
    sessions, CSRF tokens and password reset links be forged.
    """
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off "
            "(set DEBUG=true for local development, see .env.example)."
        ) from None
    reason = "" if settings.DEBUG else weak_secret_key_reason(key)
    if reason:
        raise ImproperlyConfigured(
            f"SECRET_KEY is too weak: {reason}. Generate one with: python -c "
            '"import secrets; print(secrets.token_urlsafe(50))"'
        )
