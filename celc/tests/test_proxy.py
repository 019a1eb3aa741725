"""Behind the TLS proxy, a real daphne takes the client's address from the last hop of
X-Forwarded-For, the one the proxy appended; without the setting, from the connection
(celc/proxy.py, devtools.stack.daphne_argv)."""

import http.client
import re

import psutil
import pytest
from axes.models import AccessAttempt

from celc.proxy import last_hop
from conftest import Daphne

pytestmark = pytest.mark.django_db(transaction=True)


def failed_sign_in(server: Daphne, forwarded_for: str) -> None:
    """A wrong password for alice, through a proxy that says the client is `forwarded_for`."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"X-Forwarded-For": forwarded_for}
    try:
        connection.request("GET", "/accounts/login/", headers=headers)
        page = connection.getresponse()
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.read()).group(1)
        cookie = page.getheader("Set-Cookie").split(";", 1)[0]  # csrftoken=...
        connection.request(
            "POST",
            "/accounts/login/",
            body=b"username=alice&password=wrong&csrfmiddlewaretoken=" + token,
            headers={
                **headers,
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200  # the form again, with its error
    finally:
        connection.close()


@pytest.fixture
def daphne_behind_the_proxy(transactional_db, server_env):
    server = Daphne({**server_env, "DJANGO_BEHIND_TLS_PROXY": "1"})
    server.start()
    yield server
    server.stop()


def test_behind_the_proxy_daphne_takes_the_hop_the_proxy_appended(daphne_behind_the_proxy, alice):
    assert "--proxy-headers" in psutil.Process(daphne_behind_the_proxy.process.pid).cmdline()

    failed_sign_in(daphne_behind_the_proxy, "192.0.2.66, 198.51.100.1")  # the client's, the proxy's

    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["198.51.100.1"]


def test_without_the_setting_a_forged_x_forwarded_for_changes_nothing(daphne, alice):
    assert "--proxy-headers" not in psutil.Process(daphne.process.pid).cmdline()

    failed_sign_in(daphne, "198.51.100.1")

    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["127.0.0.1"]


@pytest.mark.parametrize(
    "value, hop",
    [
        ("198.51.100.1", "198.51.100.1"),
        ("192.0.2.66, 198.51.100.1", "198.51.100.1"),
        ("192.0.2.66,2001:db8::1", "2001:db8::1"),
        ("198.51.100.1, not-an-address", None),
        ("", None),
        (None, None),
    ],
)
def test_the_last_hop_is_the_last_address(value, hop):
    assert last_hop(value) == hop
