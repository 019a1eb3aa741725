"""Settings come from the environment; production settings pass the deploy check."""

import os
import secrets
import subprocess
import sys

from django.conf import settings

from celc.stack import BASE_DIR


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
