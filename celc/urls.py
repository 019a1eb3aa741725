from django.contrib import admin
from django.urls import include, path, re_path, reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from accounts import views as account_views

admin.site.site_header = _("Central Electric administration")
admin.site.site_title = _("Central Electric admin")
admin.site.index_title = _("Devices, households and payouts")
# No sidebar of every model beside each page: at 1280 px it left the payout list
# (filters on its right) too narrow for its columns. The index and breadcrumbs lead.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", account_views.home, name="home"),
    # The live pages' words in the page's language (gettext() in static/accounts/live.js).
    path("manifest.webmanifest", account_views.manifest, name="manifest"),
    path("sw.js", account_views.service_worker, name="service-worker"),
    # Only the project's own catalogue (LOCALE_PATHS): not the admin's date-picker words.
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["accounts"]), name="javascript-catalog"),
    path("accounts/", include("accounts.urls")),
    path("dashboard/", account_views.dashboard, name="dashboard"),
    path("dashboard/outages/<int:outage_id>/", account_views.outage, name="outage"),
    path("api/me/summary", account_views.api_summary, name="api-summary"),
    path("api/me/quote", account_views.api_quote, name="api-quote"),
    path("", include("devices.urls")),
    path("board/", include("board.urls")),
    path("alerts/", include("alerts.urls")),
    # The admin's own password change: the site's view, whose old password counts as a
    # sign-in attempt (accounts/lockout.py), behind the admin's staff check.
    path(
        "admin/password_change/",
        admin.site.admin_view(
            account_views.PasswordChangeView.as_view(
                success_url=reverse_lazy("admin:password_change_done")
            )
        ),
    ),
    # The policy's admin pages before it had an app of its own (2026-11-30): bookmarks work.
    re_path(
        r"^admin/payouts/policy/(?P<rest>.*)$",
        RedirectView.as_view(
            url="/admin/policy/policy/%(rest)s", permanent=True, query_string=True
        ),
    ),
    path("admin/", admin.site.urls),
]
