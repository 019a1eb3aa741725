"""What a message says: the subject and text of each kind of event, in the recipient's
language, with money as the site writes it (common/money.py) and times in India time;
and the webhook's JSON, the same words beside the plain facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.models import AlertEvent, EventKind
from alerts.quiet import INDIA
from common.money import money_parts, rupees


@dataclass
class Message:
    subject: str
    paragraphs: list[str]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs) + "\n"

    @property
    def html(self) -> str:
        return format_html(
            '<html><body style="font-family: sans-serif">{}</body></html>',
            format_html_join("", "<p>{}</p>", ((p,) for p in self.paragraphs)),
        )


def language_of(user) -> str:
    """The household's saved language; English until it chooses one."""
    return user.language or "en"


def when(moment: datetime) -> str:
    """A time as India writes it, e.g. 27 November 2026, 09:00 (month in the language)."""
    return date_format(timezone.localtime(moment, INDIA), "j F Y, H:i")


def compose(event: AlertEvent, recipient) -> Message:
    """The message of `event` for `recipient`, in the recipient's language."""
    with translation.override(language_of(recipient)):
        name = recipient.first_name or recipient.username
        body = _BODIES[event.kind](event)
        return Message(
            subject=body[0],
            paragraphs=[
                _("Hello %(name)s,") % {"name": name},
                *body[1:],
                _footer(),
            ],
        )


def _footer() -> str:
    if settings.CELC_SITE_URL:
        return _("You get this message because of your alert settings; change them at %(url)s.") % {
            "url": settings.CELC_SITE_URL + reverse("alerts:preferences")
        }
    return _(
        "You get this message because of your alert settings; change them under Alerts "
        "on your dashboard."
    )


def _device_silent(event: AlertEvent) -> list[str]:
    facts = {"device": event.device.name, "since": when(event.since)}
    return [
        _("Your device %(device)s has stopped reporting") % facts,
        _("Central Electric has not heard from your device %(device)s since %(since)s.") % facts,
        _(
            "Check that it is plugged in and connected to the internet. While it is silent, "
            "a power cut at your home cannot be witnessed, and time not witnessed is not paid."
        ),
    ]


def _device_back(event: AlertEvent) -> list[str]:
    facts = {
        "device": event.device.name,
        "since": when(event.since),
        "at": when(event.happened_at),
    }
    return [
        _("Your device %(device)s is reporting again") % facts,
        _("Your device %(device)s, silent since %(since)s, is reporting again as of %(at)s.")
        % facts,
    ]


def _cut_ended(event: AlertEvent) -> list[str]:
    earned = money_parts(event.amount)[0]  # paise, truncated: never more than was posted
    facts = {
        "device": event.device.name,
        "start": when(event.since),
        "end": when(event.happened_at),
        "amount": earned,
    }
    return [
        _("Power cut over: %(amount)s earned") % facts,
        _(
            "The power cut your device %(device)s witnessed from %(start)s to %(end)s is over. "
            "It earned you %(amount)s, added to your balance."
        )
        % facts,
    ]


def _payout_approved(event: AlertEvent) -> list[str]:
    payout = event.payout
    facts = {"payout": payout.pk, "amount": rupees(payout.amount)}
    destination = payout.destination().label()
    return [
        _("Payout #%(payout)s of %(amount)s approved") % facts,
        (
            _("The board approved payout #%(payout)s of %(amount)s: it goes by %(destination)s.")
            % {**facts, "destination": destination}
            if destination
            else _("The board approved payout #%(payout)s of %(amount)s.") % facts
        ),
        _("We will write again when it is paid."),
    ]


def _payout_paid(event: AlertEvent) -> list[str]:
    payout = event.payout
    facts = {
        "payout": payout.pk,
        "amount": rupees(payout.amount),
        "at": when(event.happened_at),
        "reference": payout.reference,
    }
    return [
        _("Payout #%(payout)s of %(amount)s paid") % facts,
        _(
            "Payout #%(payout)s of %(amount)s was paid on %(at)s. Its reference is "
            "%(reference)s: your bank, UPI app or electricity bill shows the same."
        )
        % facts,
    ]


def _area_out(event: AlertEvent) -> list[str]:
    minutes = settings.CELC_ALERT_AREA_OUT_MINUTES
    facts = {
        "area": str(event.area),
        "minutes": minutes,
        "since": when(event.since),
        "off": event.count,
    }
    return [
        ngettext(
            "Area %(area)s has been out for over %(minutes)s minute",
            "Area %(area)s has been out for over %(minutes)s minutes",
            minutes,
        )
        % facts,
        ngettext(
            "%(off)s device in area %(area)s has been without power since %(since)s.",
            "%(off)s devices in area %(area)s have been without power since %(since)s.",
            event.count or 0,
        )
        % facts,
        _("The board's view shows the areas out now."),
    ]


_BODIES = {
    EventKind.DEVICE_SILENT: _device_silent,
    EventKind.DEVICE_BACK: _device_back,
    EventKind.CUT_ENDED: _cut_ended,
    EventKind.PAYOUT_APPROVED: _payout_approved,
    EventKind.PAYOUT_PAID: _payout_paid,
    EventKind.AREA_OUT: _area_out,
}


def payload(event: AlertEvent, recipient, delivery_id: int, now: datetime) -> dict:
    """The webhook's JSON: the event's facts as data, and the message in words."""
    message = compose(event, recipient)
    data: dict = {}
    if event.device_id:
        data["device"] = {"id": event.device_id, "name": event.device.name}
    if event.outage_id:
        data["outage"] = event.outage_id
    if event.payout_id:
        data["payout"] = {"id": event.payout_id, "state": event.payout.state}
        if event.payout.reference and event.kind == EventKind.PAYOUT_PAID:
            data["payout"]["reference"] = event.payout.reference
    if event.area_id:
        data["area"] = {"code": event.area.code, "name": event.area.name}
        data["devices_off"] = event.count
    if event.amount is not None:
        data["amount"] = str(event.amount)
    if event.since is not None:
        data["since"] = event.since.isoformat()
    return {
        "event": event.key,
        "type": event.kind,
        "happened_at": event.happened_at.isoformat(),
        "delivery": delivery_id,
        "sent_at": now.isoformat(),
        "language": language_of(recipient),
        "subject": message.subject,
        "text": message.text,
        "data": data,
    }
