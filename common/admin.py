from django.apps import apps
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that only the system writes (outages, ledger entries, runs): view only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SuperusersOnly:
    """Mixed into a ModelAdmin: staff who are not superusers neither see nor open it."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args, **kwargs):
        return request.user.is_superuser and super().has_add_permission(request, *args, **kwargs)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


def superusers_only(site: admin.AdminSite, app_label: str) -> None:
    """Re-register every model of `app_label` on `site` for superusers alone.

    For another package's admin (django-axes' sign-in records): its models'
    permissions could be granted to staff by mistake; these stay the
    superusers' all the same. Called once the admin modules are loaded.
    """
    for model in apps.get_app_config(app_label).get_models():
        if not site.is_registered(model):
            continue
        cls = type(site.get_model_admin(model))
        if issubclass(cls, SuperusersOnly):
            continue
        site.unregister(model)
        site.register(model, type(cls.__name__, (SuperusersOnly, cls), {}))


class DatesCheckedChangeList(ChangeList):
    """Django's change list, with a date hierarchy's year, month and day past what Python's
    dates hold (`?started_at__year=99999999999`, `=9999`) an incorrect lookup, as a
    malformed one already is (the list shown unfiltered, `?e=1`), not a 500: Django
    catches the ValueError of a bad date but not the OverflowError of a huge year, nor
    the ValueError of the year after 9999."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error


class DatesChecked:
    """Mixed into a ModelAdmin: its change list is a DatesCheckedChangeList."""

    def get_changelist(self, request, **kwargs):
        found = super().get_changelist(request, **kwargs)
        return DatesCheckedChangeList if found is ChangeList else found


def check_dates_everywhere(site: admin.AdminSite) -> None:
    """Give every model admin on `site` (other packages' included) the DatesChecked change
    list. Called once the admin modules are loaded."""
    for model, model_admin in list(site._registry.items()):
        cls = type(model_admin)
        if not issubclass(cls, DatesChecked):
            site.unregister(model)
            site.register(model, type(cls.__name__, (DatesChecked, cls), {}))
