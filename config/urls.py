from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Send browsers asking for /favicon.ico (the admin's pages) to the icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("assessment.urls")),
]

# Error pages in the app's look; a database that does not answer gets a 503.
handler400 = "assessment.views_errors.bad_request"
handler403 = "assessment.views_errors.permission_denied"
handler404 = "assessment.views_errors.page_not_found"
handler500 = "assessment.views_errors.server_error"
