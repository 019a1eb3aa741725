"""Receivers of Django's auth signals: a signed-out session's live sockets (dashboards, board
pages) close."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from accounts.broadcast import send_signed_out


@receiver(user_logged_out, dispatch_uid="accounts.close_live_sockets_on_sign_out")
def close_live_sockets(sender, request, user, **kwargs):
    if user is not None and request is not None:
        send_signed_out(user.pk, request.session.session_key)
