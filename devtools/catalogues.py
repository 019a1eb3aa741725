"""The translation catalogues: compile them (set-up, `make run` and `make test`), and find
what the source marks for translation (the catalogue test).

Compiling uses Babel (a requirement already, for money), so a fresh machine needs no
GNU gettext; only refreshing the .po files from the source (`make messages`, Django's
makemessages) does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
LANGUAGES = ("ta", "hi")  # English is the source language: its text is the msgid
DOMAINS = ("django", "djangojs")
# Where marked strings live (Django's makemessages walks the same, skipping the rest).
SOURCE_DIRS = (
    "celc",
    "alerts",
    "board",
    "accounts",
    "payouts",
    "devices",
    "policy",
    "common",
    "agent",
)
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


def po_path(language: str, domain: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"{domain}.po"


def read(language: str, domain: str):
    with po_path(language, domain).open("rb") as handle:
        return read_po(handle, locale=language)


def compile_all() -> list[Path]:
    """Write each .mo beside its .po when the .po is newer; return those written."""
    written = []
    for language in LANGUAGES:
        for domain in DOMAINS:
            po = po_path(language, domain)
            mo = po.with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            catalog = read(language, domain)
            with mo.open("wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)
            written.append(mo)
    return written


def _ids(method: str, handle) -> set[tuple[str | None, str]]:
    found = set()
    for _lineno, message, _comments, context in extract(method, handle, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.add((context, msgid))
    return found


def marked(domain: str) -> set[tuple[str | None, str]]:
    """(context, msgid) of every string the source marks, as makemessages would find them."""
    found: set[tuple[str | None, str]] = set()
    if domain == "djangojs":
        for path in sorted((ROOT / "static").rglob("*.js")):
            if "vendor" in path.parts:
                continue
            with path.open("rb") as handle:
                found |= _ids("javascript", handle)
        return found
    from django.utils.translation.template import templatize

    for directory in SOURCE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            with path.open("rb") as handle:
                found |= _ids("python", handle)
    for path in sorted((ROOT / "templates").rglob("*.html")):
        code = templatize(path.read_text(), origin=str(path))
        found |= _ids("python", _lines(code))
    return found


def _lines(code: str):
    """templatize()'s output is for xgettext, not Python's tokenizer: its lines start with
    stray indentation. Its strings are single-line reprs, so dedenting every line is safe."""
    from io import BytesIO

    return BytesIO("\n".join(line.lstrip() for line in code.splitlines()).encode())


if __name__ == "__main__":
    for mo in compile_all():
        print(f"compiled {mo.relative_to(ROOT)}", file=sys.stderr)
