"""Where a signed-in account starts (accounts.roles.landing_url_name), for pages that offer
a way back: a household's dashboard, the board, or the admin."""

from django import template
from django.urls import reverse

from accounts.roles import landing_url_name

register = template.Library()

WORDS = {
    "dashboard": "Go to your dashboard",
    "board:board": "Go to the board",
    "admin:index": "Go to the admin",
}


@register.simple_tag
def landing(user) -> dict:
    """{"url", "words", "household"} of where `user` lands after signing in."""
    name = landing_url_name(user)
    return {"url": reverse(name), "words": WORDS[name], "household": name == "dashboard"}
