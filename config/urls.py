from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from dallosh import views as account_views
from dallosh.login import ThrottledLoginView
from dashboard import views as dashboard_views

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path("kpis/", dashboard_views.kpis, name="kpis"),
    path("alerts/panel/", dashboard_views.alerts_panel, name="alerts_panel"),
    path("alerts/<str:alert_id>/acknowledge/", dashboard_views.acknowledge, name="alert_acknowledge"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    # Browsers ask for /favicon.ico on pages that name no icon (the Django admin's).
    # (resolved on first request: the manifest of collected static files exists by then)
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("dallosh/favicon.svg"), permanent=True),
         name="favicon"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's language switch
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("account/api-token/", account_views.api_token, name="api_token"),
    path("account/api-token/revoke/", account_views.revoke_api_token, name="api_token_revoke"),
    path("", include("analysis.urls")),  # reply drafts, before the tickets' /<action>/ pattern
    path("", include("tickets.urls")),
    path("ingest/", include("ingestion.urls")),
    path("api/v1/", include("config.api_urls")),
    path("admin/", admin.site.urls),
]
