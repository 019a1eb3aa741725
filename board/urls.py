from django.urls import path

from board import views

app_name = "board"

urlpatterns = [
    path("", views.board_view, name="board"),
    path("indices.csv", views.indices_csv, name="indices-csv"),
]
