from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that only the system writes (outages, ledger entries, runs): view only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
