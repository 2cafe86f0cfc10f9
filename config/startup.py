"""Checks a server makes as it starts, before its first request."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_secret_key() -> None:
    """Stop a server from starting without a secret key (DEBUG off, none set).

    Settings leave the key empty so that commands which sign nothing still
    run; Django refuses to use an empty key, which a server would otherwise
    discover only at its first request.
    """
    try:
        settings.SECRET_KEY  # noqa: B018 - Django checks the key on access
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off "
            "(set DEBUG=true for local development, see .env.example)."
        ) from None
