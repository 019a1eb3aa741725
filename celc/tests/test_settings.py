"""Settings come from the environment; production settings pass the deploy check."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from devtools.stack import BASE_DIR


def run_manage(*args, **env):
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL"))
    }
    environ.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "power.example.org",
}


def test_production_settings_pass_the_deploy_check_with_no_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DJANGO_DEBUG="0")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_it_says_which_variable_is_malformed():
    result = run_manage("check", DJANGO_DEBUG="maybe")

    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_database_url_chooses_postgresql():
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"

    result = run_manage(
        "shell",
        "-v",
        "0",
        "-c",
        code,
        DJANGO_DEBUG="1",
        DATABASE_URL="postgres://someone@db.example:5432/celc",
    )

    assert result.stdout.strip() == "django.db.backends.postgresql", result.stderr


def test_one_redis_url_feeds_the_channel_layer_and_the_celery_broker():
    from celc.celery import app

    redis_url = os.environ["REDIS_URL"]
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"] == redis_url
    assert app.conf.broker_url == redis_url
    assert settings.TIME_ZONE == "Asia/Kolkata"


@pytest.mark.parametrize(
    "weak, why",
    [
        ("abcdefghij" * 4 + "abcdefghi", "at least 50 characters"),
        ("abcd" * 20, "at least 5 different characters"),
        ("django-insecure-" + secrets.token_urlsafe(50), 'not start with "django-insecure-"'),
        (secrets.token_urlsafe(30), "at least 50 characters"),
    ],
    ids=["49 characters", "4 different characters", "django-insecure-", "a 40-character token"],
)
def test_production_refuses_to_start_with_a_weak_secret_key(weak, why):
    result = run_manage("check", **{**PRODUCTION, "DJANGO_SECRET_KEY": weak})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is too weak" in result.stderr and why in result.stderr
    assert weak not in result.stderr  # the key itself is never printed


def test_a_development_server_may_use_a_short_key():
    result = run_manage("check", DJANGO_DEBUG="1", DJANGO_SECRET_KEY="short")

    assert result.returncode == 0, result.stderr


def test_production_collects_the_static_files_and_serves_pages_with_them(tmp_path):
    """What the README says to run before starting daphne in production: every file hashed
    and compressed (a vendored script's source map it does not ship is no failure), and a
    page rendered with the manifest."""
    env = {**PRODUCTION, "CELC_VAR_DIR": str(tmp_path)}
    result = run_manage("collectstatic", "--noinput", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert '"js/vendor/decimal.min.js": "js/vendor/decimal.min.' in manifest
    assert list((tmp_path / "static" / "js" / "vendor").glob("decimal.min.*.js.gz"))
    page = run_manage(
        "shell",
        "-c",
        "import re; from django.test import Client; r = Client(HTTP_HOST='power.example.org')"
        ".get('/', secure=True); print(r.status_code, "
        "bool(re.search(rb'/static/img/bolt[.][0-9a-f]{12}[.]svg', r.content)))",
        **env,
    )
    assert page.stdout.split()[-2:] == ["200", "True"], page.stdout + page.stderr
