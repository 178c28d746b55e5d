"""Security headers on every response (issue 12); HTTPS=1 adds Secure cookies and HSTS. The browser test under
the policy is tests/e2e/test_csp.py; the production server's own headers are in tests/test_serve.py."""
import re
from pathlib import Path

import pytest
from helpers import Web

from app import create_app

TEMPLATES = Path(__file__).resolve().parents[1] / "app" / "web" / "templates"


def responses(app, login):
    clerk = login("clerk")
    web = Web(app, "clerk")
    client = app.test_client()
    return {
        "login page": client.get("/login"),
        "web page": web.get("/"),
        "web 404": web.get("/no-such-page"),
        "redirect": client.get("/"),
        "static": client.get("/web/static/web.css"),
        "vendor": client.get("/static/vendor/bpmn-js/bpmn-js.css"),
        "api": clerk.get("/api/tasks"),
        "api 401": client.get("/api/tasks"),
        "api 400": clerk.post("/api/login", {"username": ""}),
        "openapi": client.get("/api/openapi.json"),
        "engine-rest 401": client.get("/engine-rest/deployment"),
        "engine-rest": client.get("/engine-rest/version"),
    }


def test_every_response_carries_the_security_headers(app, login):
    for name, response in responses(app, login).items():
        headers = response.headers
        csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
        assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'", name  # nothing inline, no eval
        assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'", name
        assert csp["default-src"] == "'self'" and csp["base-uri"] == "'none'", name
        assert headers["X-Frame-Options"] == "DENY", name
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Referrer-Policy"] == "same-origin", name
        assert "Strict-Transport-Security" not in headers, name  # only with HTTPS=1
        assert "Server" not in headers, name  # the app adds no banner (gunicorn's own: tests/test_serve.py)


def test_pages_are_not_kept_in_the_browser_cache_but_static_files_are(app, login):
    found = responses(app, login)
    assert found["web page"].headers["Cache-Control"] == "no-store"
    assert found["api"].headers["Cache-Control"] == "no-store"
    assert "no-store" not in found["static"].headers.get("Cache-Control", "")


def test_cookies_are_httponly_and_lax_and_secure_only_over_https(app):
    cookie = app.test_client().get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https = create_app({**{k: app.config[k] for k in ("DATABASE_URL", "CLOCK", "SECRET_KEY")}, "TESTING": True,
                        "HTTPS": True})
    try:
        response = https.test_client().get("/login", base_url="https://localhost")
        assert "Secure" in response.headers["Set-Cookie"]
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    finally:
        https.extensions["db"].dispose()


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_hold_no_inline_script_or_style(template):
    text = (TEMPLATES / template).read_text()
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag or 'type="application/json"' in tag, tag  # data blocks are not run
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert "javascript:" not in text
    assert "<style" not in text and not re.search(r"\sstyle\s*=", text), "inline style"
