"""Logs: one line per event, JSON lines with CELC_LOG_FORMAT=json, each with its request's
or device's id, and never a token (common/logs.py, celc.middleware.request_log)."""

import asyncio
import http.client
import json
import logging
import subprocess
import sys

import pytest
from websockets.asyncio.client import connect

from celc.tests.test_settings import run_manage
from common import logs
from devtools.stack import BASE_DIR, daphne_argv, free_port, wait_for_port
from devtools.testing import session_cookie
from faults.test_faults import until


def record(message: str, *args) -> logging.LogRecord:
    return logging.LogRecord("test", logging.INFO, __file__, 1, message, args, None)


@pytest.mark.parametrize(
    "secret",
    [
        "ced_Zm9vYmFyYmF6cXV4cXV1eHh5enp5",
        "Bearer abc.DEF-123_456",
        "bearer ced_short1",
        "sessionid=8f3kq0zz1b2c3d4e5f6g7h8",
        "csrfmiddlewaretoken=AbCdEf0123456789",
    ],
)
def test_secrets_never_reach_a_log_line(secret):
    one = record("device said %s here", secret)
    logs.Redact().filter(one)

    assert secret not in one.getMessage()
    assert "[redacted]" in one.getMessage()


def test_a_traceback_is_redacted_too():
    try:
        raise ValueError("token ced_Zm9vYmFyYmF6cXV4cXV1eHh5 refused")
    except ValueError:
        one = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    logs.Redact().filter(one)

    assert "ced_Zm9v" not in logging.Formatter().format(one)


def test_a_hostile_path_stays_on_one_line():
    assert (
        logs.one_line("/x\nINFO forged line\r\x1b[31m") == "/x\\x0aINFO forged line\\x0d\\x1b[31m"
    )


def test_each_record_carries_the_request_it_belongs_to():
    token = logs.request_id.set("req-12345678")
    try:
        inside = record("inside")
        logs.Context().filter(inside)
    finally:
        logs.request_id.reset(token)
    outside = record("outside")
    logs.Context().filter(outside)

    assert inside.request_id == "req-12345678"
    assert outside.request_id is None


def test_an_unknown_log_format_is_refused_by_name():
    result = run_manage("check", DJANGO_DEBUG="1", CELC_LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "CELC_LOG_FORMAT must be plain or json" in result.stderr


async def device_session(url: str, token: str) -> None:
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"type": "hello"}))
        await ws.recv()


async def refused(url: str, token: str) -> None:
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.recv()  # the unauthorized error, then the close


@pytest.mark.django_db(transaction=True)
def test_a_web_process_writes_one_json_line_per_event_without_a_token(
    alice, register_device, server_env, tmp_path
):
    device, token = register_device(alice)
    cookie = session_cookie(alice)
    port = free_port()
    log_file = tmp_path / "daphne.log"
    with open(log_file, "wb") as out:
        server = subprocess.Popen(
            daphne_argv("127.0.0.1", port),
            cwd=BASE_DIR,
            env={**server_env, "CELC_LOG_FORMAT": "json", "DJANGO_LOG_LEVEL": "INFO"},
            stdout=out,
            stderr=out,
        )
    try:
        assert wait_for_port("127.0.0.1", port, 60, alive=lambda: server.poll() is None)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(
            "GET", "/dashboard/?token=ced_inthequerystring", headers={
                "X-Request-ID": "proxy-req-0001", "Cookie": cookie,
            }
        )  # fmt: skip
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("X-Request-ID") == "proxy-req-0001"
        connection.request("GET", "/accounts/login/", headers={"X-Request-ID": "bad id <script>"})
        response = connection.getresponse()
        response.read()
        minted = response.getheader("X-Request-ID")
        assert minted and minted != "bad id <script>"
        connection.request(
            "GET", "/nothere/ced_inthepath0000?sessionid=inthequery",
            headers={"X-Request-ID": "proxy-req-0002"},
        )  # fmt: skip
        response = connection.getresponse()
        response.read()
        assert response.status == 404
        url = f"ws://127.0.0.1:{port}/ws/device/"
        asyncio.run(device_session(url, token))
        asyncio.run(refused(url, "ced_notarealtokenatall0000"))

        def lines() -> list[dict]:
            return [json.loads(line) for line in log_file.read_text().splitlines() if line]

        until(
            lambda: any(
                e.get("message", "").startswith(f"device {device.pk} disconnected") for e in lines()
            ),
            30,
            "the device's disconnection in the log",
        )
    finally:
        server.terminate()
        server.wait(timeout=30)

    text = log_file.read_text()
    events = lines()  # every line is one JSON object (json.loads raised otherwise)
    assert token not in text
    assert "ced_notarealtokenatall0000" not in text
    assert "ced_inthequerystring" not in text
    assert cookie.split("=", 1)[1] not in text
    page = next(e for e in events if e.get("path") == "/dashboard/")
    assert page["request_id"] == "proxy-req-0001"
    assert page["status"] == 200
    assert page["user_id"] == alice.pk
    assert page["level"] == "INFO"
    assert any(e.get("path") == "/accounts/login/" and e["request_id"] == minted for e in events)
    # Django's own line of the 404: the request's id, its method and path, nothing secret.
    (missing,) = [e for e in events if e.get("logger") == "django.request"]
    assert missing["request_id"] == "proxy-req-0002"
    assert missing["request"] == "GET /nothere/[redacted]"
    assert "ced_inthepath0000" not in text and "inthequery" not in text
    connected = next(e for e in events if e.get("message", "").endswith("connected (connection 1)"))
    assert connected["device_id"] == device.pk
    closed = [e for e in events if e.get("code") == "unauthorized"]
    assert len(closed) == 1
    assert closed[0]["device_id"] is None


def json_line(one: logging.LogRecord) -> dict:
    from pythonjsonlogger.json import JsonFormatter

    logs.Context().filter(one)
    logs.Redact().filter(one)
    return json.loads(JsonFormatter("%(message)s %(request_id)s").format(one))


def test_a_json_line_has_no_secret_in_its_traceback_or_its_extra_fields():
    try:
        raise ValueError("token ced_Zm9vYmFyYmF6cXV4cXV1eHh5 refused")
    except ValueError:
        one = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    one.path = "/nope/ced_abcdefghijklmno"

    line = json_line(one)

    assert "ced_Zm9v" not in json.dumps(line)
    assert "ValueError" in line["exc_info"]
    assert line["path"] == "/nope/[redacted]"


def test_a_request_on_a_record_is_its_method_and_path_only():
    class Request:
        method = "POST"
        path = "/accounts/login/"

        def __str__(self):
            return "<ASGIRequest: POST '/accounts/login/?csrfmiddlewaretoken=zzz'>"

    one = record("Forbidden (CSRF token missing.): %s", "/accounts/login/")
    one.request = Request()

    line = json_line(one)

    assert line["request"] == "POST /accounts/login/"
    assert "zzz" not in json.dumps(line)


def test_a_message_stays_on_one_line():
    one = record("first\nsecond\u2028third")
    logs.Redact().filter(one)

    assert one.getMessage() == "first\\x0asecond\\u2028third"
