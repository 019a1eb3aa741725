"""Where a signed-in account starts (accounts.roles.landing_url_name), for pages that offer
a way back: a household's dashboard, the board, or the admin."""

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.roles import landing_url_name

register = template.Library()

WORDS = {
    "dashboard": _("Go to your dashboard"),
    # Translators: the electricity board's pages (/board/), for its staff.
    "board:board": _("Go to the board"),
    # Translators: Django's admin site, where installers and superusers work.
    "admin:index": _("Go to the admin"),
}


@register.simple_tag
def landing(user) -> dict:
    """{"url", "words", "household"} of where `user` lands after signing in."""
    name = landing_url_name(user)
    return {"url": reverse(name), "words": WORDS[name], "household": name == "dashboard"}
