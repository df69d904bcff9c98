from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from ledger import api, health
from ledger.views import events

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),  # public: for load balancers (docs/operations.md)
    # Pages link their icon; this is for what has no page around it (the API's docs, a plain 404).
    path("favicon.ico", lambda request: redirect(static("ledger/favicon.svg"))),
    path("admin/", admin.site.urls),
    path("api/v1/events/stream", events.api_events, name="api-events-stream"),  # async: beside ninja's routes
    path("api/v1/", api.urls),
    path("", include("ledger.urls")),
]
