from django.contrib import admin
from django.template.response import TemplateResponse

from devices import tokens
from devices.models import Area, Device


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "household",
        "area",
        "power_state",
        "last_seen_at",
        "token_prefix",
        "revoked_at",
    )
    list_filter = ("area", "power_state", "household")
    search_fields = ("name", "household__username", "area__code", "token_prefix")
    readonly_fields = (
        "token_prefix",
        "registered_at",
        "revoked_at",
        "last_seen_at",
        "last_seq",
        "power_state",
    )
    autocomplete_fields = ("household", "area")

    def save_model(self, request, obj, form, change):
        if not change:
            token = tokens.mint_token()
            obj.token_hash = tokens.hash_token(token)
            obj.token_prefix = tokens.visible_prefix(token)
            obj._new_token = token  # shown by response_add, never stored
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        return self.token_page(request, obj, obj._new_token, "registered")

    def token_page(self, request, device, token, what):
        """The only place a token is ever shown: rendered into this response, stored nowhere."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "device": device,
            "token": token,
            "what": what,
            "title": f"Token for {device.name}",
        }
        response = TemplateResponse(request, "admin/devices/device/token.html", context)
        response["Cache-Control"] = "no-store"
        return response
