"""No secret is committed: no device token, no private key, no runtime files."""

import re
import subprocess

import pytest

from celc.stack import BASE_DIR

SECRETS = [
    re.compile(rb"ced_[A-Za-z0-9_-]{40,}"),  # a device token (devices/tokens.py)
    re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(rb"DJANGO_SECRET_KEY\s*=\s*['\"]?[A-Za-z0-9!@#$%^&*()_+=-]{20,}"),
]


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=BASE_DIR, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in out.decode().split("\0") if name]


def test_no_secret_is_tracked():
    found = []
    for name in tracked_files():
        path = BASE_DIR / name
        if not path.is_file() or path.suffix in {".png"}:
            continue
        content = path.read_bytes()
        found += [f"{name}: {p.pattern!r}" for p in SECRETS if p.search(content)]
    assert found == []


def test_runtime_files_are_not_tracked():
    assert [name for name in tracked_files() if name.startswith(("var/", ".venv/"))] == []
