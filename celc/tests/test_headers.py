"""Security headers on pages, the API and the admin."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/me/summary", "/admin/login/"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)

    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_pages_may_connect_to_this_site_only(client):
    csp = client.get("/")["Content-Security-Policy"]

    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    # 'self' covers this site's own ws:// and wss:// (CSP Level 3); no other host.
    assert directives["connect-src"] == "'self'"
