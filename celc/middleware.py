"""Response headers Django 5.2 does not set by itself."""

# Own scripts and styles only, no CDN, nothing inline but style attributes
# (the timeline's bar positions); WebSockets to this site only ('self' covers
# its own ws:// and wss:// in CSP Level 3 browsers); no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"


def security_headers(get_response):
    """Content-Security-Policy and Permissions-Policy on every response that has none."""

    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response

    return middleware
