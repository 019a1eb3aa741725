from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts import charts
from accounts.forms import PayoutDetailsForm, SignUpForm
from accounts.summary import household_summary

STATE_LABELS = {
    "on": "Power on",
    "off": "Power cut",
    "offline": "Offline",
    "lost": "Lost contact",
    "unknown": "Not heard from yet",
    "revoked": "Revoked",
}


def home(request):
    return render(request, "home.html")


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def dashboard(request):
    summary = household_summary(request.user)
    return render(
        request,
        "accounts/dashboard.html",
        {
            "summary": summary,
            "state_labels": STATE_LABELS,
            "chart": charts.daily_bars(summary["daily"]),
            "timeline": charts.timeline(summary["timeline"]),
            "payout_minimum": settings.CELC_PAYOUT_MINIMUM,
            "live_heartbeat": settings.LIVE_HEARTBEAT_SECONDS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def payout_details(request):
    form = PayoutDetailsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your payout details are saved.")
        return redirect("dashboard")
    return render(request, "accounts/payout_details.html", {"form": form})


@require_GET
def api_summary(request):
    """`GET /api/me/summary`: the dashboard's state as JSON, for the signed-in household."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Sign in first."}, status=401)
    response = JsonResponse(household_summary(request.user))
    response["Cache-Control"] = "no-store"
    return response
