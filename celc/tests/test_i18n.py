"""The site speaks English, Tamil and Hindi: every word a person reads is marked for
translation, every catalogue is complete, and a household's choice of language sticks."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from devtools import catalogues

TEMPLATES = sorted(Path(settings.BASE_DIR, "templates").rglob("*.html"))
LETTER = re.compile(r"[^\W\d_]")
# Words that are the same in every language: the reliability indices' names, units.
UNTRANSLATED = re.compile(r"\b(SAIDI|SAIFI|CAIDI|MAIFI|kWh|UPI|IFSC|CSV|IEEE)\b")
READ_ATTRIBUTES = {"title", "aria-label", "alt", "placeholder"}
CODE = {"script", "style", "code", "pre"}  # what a person reads as code, not as words


class _Words(HTMLParser):
    """Text and readable attribute values outside translate tags (template tags blanked)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.code = 0
        self.found: list[str] = []

    def _check(self, text):
        if LETTER.search(UNTRANSLATED.sub("", text)):
            self.found.append(text.replace("\x00", " ").strip())

    def handle_starttag(self, tag, attrs):
        if tag in CODE:
            self.code += 1
        attrs = dict(attrs)
        for name, value in attrs.items():
            readable = name in READ_ATTRIBUTES or (
                name == "value" and attrs.get("type") in {"submit", "button"}
            )
            if readable and value:
                self._check(value)

    def handle_endtag(self, tag):
        if tag in CODE and self.code:
            self.code -= 1

    def handle_data(self, data):
        if not self.code:
            self._check(data)


def unmarked(source: str) -> list[str]:
    """What a person would read in `source` that no translate tag covers."""
    outside, depth, blocks = [], 0, []
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            bits = token.contents.split()
            name = bits[0] if bits else ""
            # Translated, a comment, or a block filling a class attribute (`main_class`).
            if name in {"blocktranslate", "blocktrans", "comment"}:
                depth += 1
            elif name in {"endblocktranslate", "endblocktrans", "endcomment"}:
                depth -= 1
            elif name == "block":
                blocks.append(bits[1].endswith("class"))
                depth += blocks[-1]
            elif name == "endblock" and blocks:
                depth -= blocks.pop()
            outside.append("\x00")
        elif token.token_type == TokenType.TEXT and depth == 0:
            outside.append(token.contents)
        else:
            outside.append("\x00")
    parser = _Words()
    parser.feed("".join(outside))
    parser.close()
    return parser.found


def test_the_checker_finds_unmarked_words_and_passes_marked_ones():
    assert unmarked('<p title="Hello">{% translate "Hi" %}</p>') == ["Hello"]
    assert unmarked("<h1>Balance</h1>") == ["Balance"]
    assert unmarked('<input type="submit" value="Save">') == ["Save"]
    assert unmarked('<input type="hidden" name="a" value="yes">') == []
    assert unmarked("{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}") == []
    assert unmarked("{% block main_class %}page narrow{% endblock %}") == []
    assert unmarked("{% block title %}Home{% endblock %}") == ["Home"]
    assert unmarked("<th>SAIDI</th> <code>python -m agent</code> {{ x }} \u2013 \u00d7") == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_every_template_word_is_marked_for_translation(path):
    assert unmarked(path.read_text()) == []


@pytest.mark.parametrize("domain", catalogues.DOMAINS)
@pytest.mark.parametrize("language", catalogues.LANGUAGES)
def test_every_catalogue_is_complete_and_nothing_is_fuzzy(language, domain):
    catalog = catalogues.read(language, domain)
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue  # the header
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("domain", catalogues.DOMAINS)
@pytest.mark.parametrize("language", catalogues.LANGUAGES)
def test_every_marked_string_is_in_the_catalogue(language, domain):
    """`make messages` was run after the last change of marked text."""
    catalog = catalogues.read(language, domain)
    have = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog}
    missing = sorted(catalogues.marked(domain) - have, key=str)
    assert missing == []


def test_the_source_is_read_as_makemessages_reads_it():
    """Marked strings are found in templates (both tags, plurals, context), Python and JS."""
    django, js = catalogues.marked("django"), catalogues.marked("djangojs")
    assert (None, "Balance") in django  # {% translate %}
    assert (None, "Caps: %(outage)s per outage, %(month)s per household per calendar month.") in (
        django
    )  # {% blocktranslate %}
    assert (None, "%(stretches)s witnessed stretch") in django  # count ... plural
    assert ("navigation", "Main") in django  # context
    assert (None, "Your payout details are saved: %(destination)s.") in django  # Python
    assert (None, "Not live: no news from the server") in js  # gettext() in live.js
    assert (None, "Balance") not in js


def test_the_catalogue_checks_can_fail(tmp_path):
    """A catalogue with an untranslated and a fuzzy entry is caught as such."""
    po = tmp_path / "ta" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Balance"\nmsgstr ""\n\n#, fuzzy\nmsgid "Today"\nmsgstr "இன்று"\n',
        encoding="utf-8",
    )
    original = catalogues.LOCALE
    catalogues.LOCALE = tmp_path
    try:
        with pytest.raises(AssertionError):
            test_every_catalogue_is_complete_and_nothing_is_fuzzy("ta", "django")
    finally:
        catalogues.LOCALE = original


# The language a page speaks.


@pytest.fixture
def household(db):
    return User.objects.create_user("alice", password="a long pass phrase")


def words(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def heading(response) -> str:
    return re.search(r"<h1>(.*?)</h1>", response.content.decode(), re.S).group(1).strip()


def test_the_catalogues_are_compiled_and_say_something_else_than_english():
    for language in ("ta", "hi"):
        assert words(language, "Sign in") not in {"", "Sign in"}
        assert words(language, "Balance") != words("ta" if language == "hi" else "hi", "Balance")


@pytest.mark.django_db
def test_it_speaks_the_browsers_language_first():
    client = Client()
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ta-IN,ta;q=0.9")
    assert heading(response) == words("ta", "Sign in")
    assert response["Content-Language"] == "ta"
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="hi")
    assert heading(response) == words("hi", "Sign in")
    assert '<html lang="hi">' in response.content.decode()
    assert heading(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr")) == "Sign in"


@pytest.mark.django_db
def test_the_switcher_remembers_the_choice_in_a_cookie_and_goes_back():
    client = Client()
    response = client.post(
        reverse("accounts:language"), {"language": "ta", "next": "/accounts/login/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="hi")
    assert heading(page) == words("ta", "Sign in")
    # The switcher itself: each language named in its own script, the current one marked.
    assert '<button type="submit" name="language" value="hi" lang="hi" class="link">' in (
        page.content.decode()
    )
    assert 'value="ta" lang="ta" class="link" aria-current="true">தமிழ்</button>' in (
        page.content.decode()
    )


def test_the_switcher_remembers_a_households_choice_wherever_it_signs_in(household):
    phone = Client()
    phone.force_login(household)
    phone.post(reverse("accounts:language"), {"language": "hi", "next": "/dashboard/"})
    household.refresh_from_db()
    assert household.language == "hi"
    laptop = Client()  # a browser that asks for Tamil, signed in as the same household
    laptop.force_login(household)
    page = laptop.get("/accounts/password_change/", HTTP_ACCEPT_LANGUAGE="ta")
    assert heading(page) == words("hi", "Change your password")


def test_the_switcher_refuses_a_language_it_does_not_have_and_changes_nothing(household):
    client = Client()
    client.force_login(household)
    response = client.post(reverse("accounts:language"), {"language": "fr", "next": "/"})
    assert response.status_code == 400
    assert "English, Tamil or Hindi" in response.content.decode()
    household.refresh_from_db()
    assert household.language == ""
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


@pytest.mark.django_db
def test_the_switcher_never_sends_a_browser_to_another_site():
    response = Client().post(
        reverse("accounts:language"), {"language": "hi", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_a_household_signing_up_in_tamil_keeps_tamil(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ta"
    response = client.post(
        "/accounts/signup/",
        {"username": "kumar", "password1": "a long pass phrase", "password2": "a long pass phrase"},
    )
    assert response.status_code == 302
    assert User.objects.get(username="kumar").language == "ta"


@pytest.mark.parametrize("language", ["ta", "hi"])
@pytest.mark.django_db
def test_djangos_own_words_on_the_sign_up_speak_the_language_too(client, language):
    """Django's catalogues lack or garble them: the site's own catalogue has them."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.post(
        "/accounts/signup/",
        {"username": "kumar", "password1": "a long pass phrase", "password2": "another"},
    ).content.decode()
    for words_ in ("The two password fields didn’t match.", "Password confirmation"):  # noqa: RUF001
        assert words(language, words_) != words_
        assert words(language, words_) in page
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_a_form_that_fails_its_csrf_check_is_explained_in_the_sites_language():
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="ta")
    response = client.post("/accounts/login/", {"username": "alice", "password": "x"})
    assert response.status_code == 403
    assert heading(response) == words("ta", "The form has expired")
    assert words("ta", "The form has expired") != "The form has expired"


def test_the_admin_has_the_switcher_too(client, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    assert 'action="/accounts/language/"' in page
    assert 'value="hi" lang="hi" class="link" aria-current="true"' in page
