from django.apps import AppConfig


class BoardConfig(AppConfig):
    """The electricity board's view: its page, its live feed and what they read."""

    name = "board"
    verbose_name = "The board's view"
