"""Sign-in lockout: django-axes' database handler, and what it cannot say by itself.

Axes locks a username from one address after AXES_FAILURE_LIMIT failures (the pair:
AXES_LOCKOUT_PARAMETERS), never the username everywhere. On top of it:

- An address is locked after LOGIN_ADDRESS_FAILURE_LIMIT failures across usernames (a
  separate, higher limit: a mobile carrier's address is shared by many): spraying a few
  guesses at many usernames is locked too. A success resets the pair only, never the
  address.
- Device cookies (OWASP's defence against lockout abuse): a successful sign-in leaves in
  that browser a signed, long-lived, HttpOnly cookie naming the username, and a stamp of
  the user's password (a keyed digest of its hash): changing the password forgets every
  browser remembered before. Failures that present a valid one for the username tried
  are counted apart from anonymous ones, per user over all its remembered browsers (one
  budget, AXES_FAILURE_LIMIT, not one per cookie); such a browser is locked only by the
  user's own browsers' failures, never by others' at its address (the pair's or the
  address's lockouts do not apply to it). Only someone who signed in with the current
  password holds such a cookie, so nobody else can spend that budget.
- The password asked again of a signed-in user (before changing where payouts go, the
  old one before changing it: `confirm_password`) is a sign-in attempt as far as this
  is concerned: a failure counts, a lockout refuses even the right password and answers
  with the lockout page, and a success resets what a sign-in resets.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_credentials, get_failure_limit
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import BrowserSignInFailures

DEVICE_COOKIE = "celc_device"
DEVICE_COOKIE_SALT = "accounts.lockout.device-cookie"
DEVICE_COOKIE_MAX_AGE = timedelta(days=400)  # browsers cap cookies at 400 days


def password_stamp(password_hash: str) -> str:
    """What a device cookie carries of the user's password: a keyed digest of its hash, so
    that the cookie stops naming a remembered browser once the password changes."""
    return salted_hmac(f"{DEVICE_COOKIE_SALT}.password", password_hash).hexdigest()[:32]


def known_browser(request, username: str | None) -> str | None:
    """The browser's key if the request presents a valid device cookie for `username`, made
    since its password was last set."""
    if not username:
        return None
    value = request.get_signed_cookie(
        DEVICE_COOKIE, default=None, salt=DEVICE_COOKIE_SALT, max_age=DEVICE_COOKIE_MAX_AGE
    )
    parts = (value or "").split(":")
    if len(parts) != 3 or not all(parts) or parts[0] != username:
        return None  # none, another user's, or from before cookies carried a stamp
    _, key, stamp = parts
    user = get_user_model()
    password = (
        user._default_manager.filter(**{user.USERNAME_FIELD: username})
        .values_list("password", flat=True)
        .first()
    )
    if password is None or not constant_time_compare(stamp, password_stamp(password)):
        return None
    return key


def remember_browser(request, user, key: str | None = None) -> None:
    """Leave a device cookie for `user` in this browser (device_cookie_middleware sets it on
    the response), stamped with the password as it is now; `key` kept when it had one."""
    request.celc_device_cookie = (
        f"{user.get_username()}:{key or secrets.token_urlsafe(16)}:{password_stamp(user.password)}"
    )


def browser_failures(username: str, request) -> int:
    """The user's failures within the cool-off from all its remembered browsers."""
    recent = BrowserSignInFailures.objects.filter(
        username=username, last_failure_at__gte=get_cool_off_threshold(request)
    )
    return recent.aggregate(n=Sum("failures"))["n"] or 0


def record_browser_failure(key: str, username: str, request) -> int:
    """Count one more failure for the browser; the user's failures within the cool-off over
    all its remembered browsers."""
    now, threshold = request.axes_attempt_time, get_cool_off_threshold(request)
    with transaction.atomic():
        BrowserSignInFailures.objects.filter(last_failure_at__lt=threshold).delete()
        row, created = BrowserSignInFailures.objects.select_for_update().get_or_create(
            browser=key, defaults={"username": username, "failures": 1, "last_failure_at": now}
        )
        if not created:
            row.failures += 1
            row.last_failure_at = now
            row.save(update_fields=["failures", "last_failure_at"])
    return browser_failures(username, request)


class LockoutHandler(AxesDatabaseHandler):
    """AXES_HANDLER: the pair and the address for anonymous failures, the user's remembered
    browsers together for failures that present a device cookie."""

    def is_locked(self, request, credentials=None) -> bool:
        username = get_client_username(request, credentials)
        if known_browser(request, username) is not None:
            return browser_failures(username, request) >= get_failure_limit(request, credentials)
        return super().is_locked(request, credentials)

    def get_failures(self, request, credentials=None) -> int:
        """Anonymous failures as the one number axes compares with AXES_FAILURE_LIMIT: the
        pair's, or the address's shifted so that it reaches that limit when it reaches
        its own."""
        by_pair = super().get_failures(request, credentials)
        by_address = (
            AccessAttempt.objects.filter(
                ip_address=request.axes_ip_address,
                attempt_time__gte=get_cool_off_threshold(request),
            ).aggregate(n=Sum("failures_since_start"))["n"]
            or 0
        )
        shift = settings.LOGIN_ADDRESS_FAILURE_LIMIT - get_failure_limit(request, credentials)
        return max(by_pair, by_address - shift)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        username = get_client_username(request, credentials) if request else None
        key = known_browser(request, username) if request else None
        if key is None:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        if record_browser_failure(key, username, request) >= get_failure_limit(
            request, credentials
        ):
            request.axes_locked_out = True  # AxesMiddleware answers with the lockout page
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes", request=request, username=username, ip_address=request.axes_ip_address
            )
        return None

    def user_logged_in(self, sender, request, user, **kwargs):
        key = known_browser(request, user.get_username())
        super().user_logged_in(sender, request, user, **kwargs)  # resets the pair
        BrowserSignInFailures.objects.filter(username=user.get_username()).delete()
        remember_browser(request, user, key)

    def password_confirmed(self, request, user, key: str | None) -> None:
        """The password asked again was right: reset what a sign-in resets (the pair's
        failures, the user's remembered browsers'). A remembered browser (`key`) stays
        remembered (checking may have rehashed the password); it makes no other one so."""
        if settings.AXES_RESET_ON_SUCCESS:
            self.reset_user_attempts(request, get_credentials(user.get_username()))
        BrowserSignInFailures.objects.filter(username=user.get_username()).delete()
        if key is not None:
            remember_browser(request, user, key)


def confirm_password(request, user, password: str) -> bool:
    """Whether `password` is the signed-in `user`'s, counted as a sign-in attempt: a wrong
    one is a failure (per username and address, or the user's remembered browsers), and
    while locked out even the right one is refused (request.axes_locked_out: AxesMiddleware
    answers with the lockout page)."""
    key = known_browser(request, user.get_username())  # before a rehash changes the stamp
    confirmed = authenticate(request, username=user.get_username(), password=password)
    if confirmed is None or confirmed.pk != user.pk:
        return False
    AxesProxyHandler.get_implementation().password_confirmed(request, confirmed, key)
    return True


def device_cookie_middleware(get_response):
    """Leaves the device cookie in the browser after a successful sign-in."""

    def middleware(request):
        response = get_response(request)
        value = getattr(request, "celc_device_cookie", None)
        if value:
            response.set_signed_cookie(
                DEVICE_COOKIE,
                value,
                salt=DEVICE_COOKIE_SALT,
                max_age=DEVICE_COOKIE_MAX_AGE,
                httponly=True,
                secure=settings.SESSION_COOKIE_SECURE,
                samesite="Lax",
            )
        return response

    return middleware
