"""Headers every response carries, cookie flags, and the client address behind trusted proxies.

The Content-Security-Policy allows scripts and styles only from this site's files: no inline script or style
(pages keep their data in ``<script type="application/json">`` blocks read by static scripts; form-js and
bpmn-js set styles through the DOM, which the policy allows). ``HTTPS=1`` marks cookies Secure and sends HSTS.
"""
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=31536000; includeSubDomains"


def init_security(app):
    if app.config["HTTPS"]:
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    https = app.config["HTTPS"]

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers["X-Content-Type-Options"] = "nosniff"
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if https:
            headers["Strict-Transport-Security"] = HSTS
        if not (request.endpoint or "").endswith("static") and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"  # signed-in pages never come back from the cache after 退出
        return response
