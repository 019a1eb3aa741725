"""The agent speaks to the installer in English, Tamil or Hindi, from the site's catalogue."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
HELP = "for --source file: a path holding on/off or 1/0"


def translated(language: str, message: str) -> str:
    with (ROOT / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as handle:
        return read_po(handle)[message].string


def agent_help(*args: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"LANGUAGE", "LC_ALL", "LANG"}}
    done = subprocess.run(
        [sys.executable, "-m", "agent", *args, "--help"],
        cwd=ROOT,
        env={**clean, "COLUMNS": "1000", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("language", ["ta", "hi"])
def test_it_speaks_the_language_it_is_asked_for(language):
    assert translated(language, HELP) not in {"", HELP}
    assert translated(language, HELP) in agent_help("--language", language)


def test_it_speaks_the_environments_language_and_english_otherwise():
    assert translated("hi", HELP) in agent_help(LANGUAGE="hi_IN.UTF-8")
    assert HELP in agent_help(LANGUAGE="fr_FR.UTF-8")
    assert HELP in agent_help()
