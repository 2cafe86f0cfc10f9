"""The site's URLs plus views that fail, for tests/test_error_pages.py."""

from django.db import OperationalError
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500, urlpatterns


def fails(request):
    raise RuntimeError("secret detail: table assessment_response at /srv/app")


def database_down(request):
    raise OperationalError("connection to server at 10.0.0.7 failed: refused")


urlpatterns = [
    path("test-fails/", fails),
    path("test-database-down/", database_down),
    *urlpatterns,
]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
