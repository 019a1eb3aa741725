from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views

admin.site.site_header = "Central Electric administration"
admin.site.site_title = "Central Electric admin"
admin.site.index_title = "Devices, households and payouts"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("dashboard/", account_views.dashboard, name="dashboard"),
    path("api/me/summary", account_views.api_summary, name="api-summary"),
    path("", include("devices.urls")),
    path("board/", include("payouts.urls")),
    path("admin/", admin.site.urls),
]
