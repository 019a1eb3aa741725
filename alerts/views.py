from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.roles import is_board_staff
from alerts import services, webhooks
from alerts.forms import PreferencesForm


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    """The signed-in household's alert settings; a new webhook secret is shown once."""
    current = services.preferences_for(request.user)
    form = PreferencesForm(
        request.POST if request.method == "POST" else None,
        instance=current,
        household=request.user,
        board_staff=is_board_staff(request.user),
    )
    if request.method == "POST" and form.is_valid():
        secret = services.preferences_save(
            preferences=form.save(commit=False), new_secret="new_secret" in request.POST
        )
        messages.success(request, _("Your alert settings are saved."))
        if secret is None:
            return redirect("alerts:preferences")
        # Rendered, not redirected: the secret is in this response only, never stored
        # in a message or a session.
        form = PreferencesForm(
            instance=current, household=request.user, board_staff=is_board_staff(request.user)
        )
        return render(request, "alerts/preferences.html", _context(form, current, secret))
    return render(request, "alerts/preferences.html", _context(form, current, None))


def _context(form, current, secret):
    return {
        "form": form,
        "secret": secret,
        "has_secret": bool(current.webhook_secret),
        "signature_header": webhooks.SIGNATURE_HEADER,
    }
