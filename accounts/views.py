from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.forms import SignUpForm
from devices.models import Device

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
    devices = Device.objects.filter(household=request.user).select_related("area").order_by("name")
    now = timezone.now()
    rows = []
    for device in devices:
        state = "revoked" if device.is_revoked else device.connection_state(now)
        rows.append((device, state, STATE_LABELS[state]))
    return render(request, "accounts/dashboard.html", {"rows": rows})
