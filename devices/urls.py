from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("api/device/ticks", views.device_ticks, name="ticks"),
    path("open-data/outages.csv", views.open_data_outages, name="open-data-outages"),
]
