import functools
import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts import charts
from accounts.broadcast import send_password_changed
from accounts.forms import PasswordChangeForm, PayoutDetailsForm, SignUpForm
from accounts.language import LANGUAGE_CODES, household_language_set
from accounts.lockout import known_browser, remember_browser
from accounts.roles import landing_url_name
from accounts.summary import household_summary, outage_shape
from payouts import creation
from payouts.quotes import quote

# The same words as the live page's (static/accounts/live.js: LABELS).
STATE_LABELS = {
    "on": gettext_lazy("Power on"),
    "off": gettext_lazy("Power cut"),
    "offline": gettext_lazy("Offline"),
    "lost": gettext_lazy("Lost contact"),
    "unknown": gettext_lazy("Not heard from yet"),
    "revoked": gettext_lazy("Revoked"),
}


def home(request):
    return render(request, "home.html")


# What an installed dashboard needs offline (templates/accounts/sw.js keeps them).
OFFLINE_ASSETS = (
    "css/site.css",
    "js/pwa.js",
    "js/vendor/decimal.min.js",
    "js/compensation.js",
    "js/money.js",
    "js/when.js",
    "accounts/live.js",
    "accounts/daychart.js",
    "img/bolt.svg",
    "img/icon-192.png",
)


@functools.cache
def _offline_version() -> str:
    """Changes whenever a kept file does, so that installed apps fetch the new ones."""
    digest = hashlib.sha256()
    for name in OFFLINE_ASSETS:
        digest.update(Path(finders.find(name)).read_bytes())
    return digest.hexdigest()[:16]


@require_GET
def manifest(request):
    """The web app manifest, in the page's language."""
    response = render(
        request,
        "accounts/manifest.webmanifest",
        {
            "name": _("Central Electric"),
            "short_name": _("Central Electric"),
            "description": _("Your compensation for power cuts, live."),
        },
        content_type="application/manifest+json",
    )
    return response


def _offline_words(language: str) -> str:
    with translation.override(language):
        return _("Offline: this page has not been opened here before. Try again when connected.")


@require_GET
def service_worker(request):
    """Served from the root so that it may look after every page of the site."""
    response = render(
        request,
        "accounts/sw.js",
        {
            "version": _offline_version(),
            "assets": [static(name) for name in OFFLINE_ASSETS],
            "offline": "\n\n".join(_offline_words(code) for code, _name in settings.LANGUAGES),
        },
        content_type="text/javascript",
    )
    response["Cache-Control"] = "no-cache"
    return response


class LogoutView(auth_views.LogoutView):
    """Signing out is a POST (a link cannot sign anyone out); a GET asks to confirm."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return render(request, "registration/logout_confirm.html")


class LoginView(auth_views.LoginView):
    """Django's sign-in; without a `next`, each account lands where its work is."""

    redirect_authenticated_user = True

    def get_redirect_url(self):
        # A `next` back to this page would loop for a signed-in visitor: go to the landing.
        url = super().get_redirect_url()
        return "" if url.split("?")[0] == self.request.path else url

    def get_default_redirect_url(self):
        return resolve_url(landing_url_name(self.request.user))


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, the old password counted as a sign-in attempt (accounts/lockout.py); then
    every other session's live sockets close (those sessions are signed out by the change),
    and every browser remembered for sign-in before is forgotten but this one. The session
    that changed it stays signed in, its socket too."""

    form_class = PasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        before = self.request.session.session_key
        key = known_browser(self.request, form.user.get_username())  # under the old stamp
        response = super().form_valid(form)  # cycles this session's key
        if key is not None:  # this browser stays remembered, stamped with the new password
            remember_browser(self.request, form.user, key)
        send_password_changed(form.user.pk, keep={before, self.request.session.session_key})
        return response


def csrf_failure(request, reason=""):
    """A form whose CSRF check failed (a stale page, cookies refused): said in the site's look
    and language instead of Django's bare page. Nothing was done."""
    return render(request, "403_csrf.html", status=403)


@require_http_methods(["POST"])
def language(request):
    """The switcher: this browser's language (a cookie), and the household's when signed in."""
    chosen = request.POST.get("language", "")
    if chosen not in LANGUAGE_CODES:
        return HttpResponseBadRequest(_("No such language here: choose English, Tamil or Hindi."))
    household_language_set(user=request.user, language=chosen)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "/"
    response = HttpResponseRedirect(back)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        chosen,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=request.is_secure(),
        httponly=True,
    )
    translation.activate(chosen)
    return response


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect(landing_url_name(request.user))
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        household_language_set(user=user, language=translation.get_language())
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def dashboard(request):
    landing = landing_url_name(request.user)
    if landing != "dashboard":
        return redirect(landing)  # a staff account with no device has no balance to watch
    summary = household_summary(request.user)
    return render(
        request,
        "accounts/dashboard.html",
        {
            "summary": summary,
            "state_labels": STATE_LABELS,
            "chart": charts.daily_bars(summary["daily"]),
            "timeline": charts.timeline(summary["timeline"]),
            # What the page ticks on from (payouts.quotes), as the broadcasts send it.
            "quote": {
                k: summary[k]
                for k in ("type", "at", "balance", "rate_per_second", "devices", "money")
            },
            "payout_minimum": settings.CELC_PAYOUT_MINIMUM,
            "next_payout": creation.next_run(timezone.now()),
            "live_heartbeat": settings.LIVE_HEARTBEAT_SECONDS,
        },
    )


@login_required
def outage(request, outage_id: int):
    """One of the household's cuts, drawn to its own scale (another's is a 404)."""
    shape = outage_shape(request.user, outage_id)
    if shape is None:
        raise Http404(_("No such outage of yours."))
    return render(request, "accounts/outage.html", {"shape": shape})


@login_required
@require_http_methods(["GET", "POST"])
def payout_details(request):
    now = request.user.payout_destination_label()  # before the form writes what was typed
    form = PayoutDetailsForm(
        request.POST if request.method == "POST" else None,
        instance=request.user,
        request=request,
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(
            request,
            _("Your payout details are saved: %(destination)s.")
            % {"destination": request.user.payout_destination_label()},
        )
        return redirect("dashboard")
    return render(request, "accounts/payout_details.html", {"form": form, "destination_now": now})


def _not_a_household(request) -> JsonResponse | None:
    """Why the household API does not answer this request, or None when it does: the
    anonymous sign in first (401); staff without a device have no balance (403), as they
    have no dashboard."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Sign in first."}, status=401)
    if landing_url_name(request.user) != "dashboard":
        return JsonResponse(
            {"error": "This is for households: this account has no device, so no balance."},
            status=403,
        )
    return None


@require_GET
def api_quote(request):
    """`GET /api/me/quote`: the household's quote alone (payouts.quotes), what its page ticks
    from; the page asks when it hears of a cut no quote has told it about yet."""
    if (refused := _not_a_household(request)) is not None:
        return refused
    response = JsonResponse(quote(request.user.pk, timezone.now()))
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def api_summary(request):
    """`GET /api/me/summary`: the dashboard's state as JSON, for the signed-in household."""
    if (refused := _not_a_household(request)) is not None:
        return refused
    response = JsonResponse(household_summary(request.user))
    response["Cache-Control"] = "no-store"
    return response
