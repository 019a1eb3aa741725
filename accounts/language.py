"""Which language a page speaks: the household's saved choice, else the switcher's cookie,
else the browser's Accept-Language (Django's LocaleMiddleware does the last two)."""

from django.conf import settings
from django.utils import translation

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def household_language_middleware(get_response):
    """A signed-in household reads its own language on every browser it signs in with."""

    def middleware(request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        if language in LANGUAGE_CODES and user.is_authenticated:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return get_response(request)

    return middleware


def household_language_set(*, user, language: str) -> None:
    """Remember `language` for a household (a no-op for one not signed in)."""
    if language not in LANGUAGE_CODES:
        raise ValueError(f"not a language of this site: {language!r}")
    if user.is_authenticated and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
