"""Browser tests: the app served on a free port in a thread, driven by Playwright with Debian's Chromium.

Uses the suite's ``app`` fixture, so the SQLite/PostgreSQL switch of tests/conftest.py applies. A failing
test leaves a full-page screenshot in test-results/<test name>.png.
"""
import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
# The two sizes every page is tried at (issue 15): a desktop and a phone (iPhone 12–14 CSS pixels).
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}

sync_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(app):
    """Base URL of the app served by werkzeug in a background thread."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


class Pages:
    """Opens browser contexts (one per user) and screenshots all of them when the test fails."""

    def __init__(self, browser, base):
        self.browser, self.base, self.pages = browser, base, []

    def new(self, size="desktop"):
        phone = size == "phone"
        context = self.browser.new_context(base_url=self.base, locale="zh-CN", timezone_id="Asia/Shanghai",
                                           viewport=SIZES[size], is_mobile=phone, has_touch=phone)
        context.set_default_timeout(10000)
        # Content-Security-Policy violations (the policy is app/security_headers.py), as the page sees them.
        context.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                                "function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });")
        page = context.new_page()
        errors, console_errors = [], []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
        page.js_errors, page.console_errors = errors, console_errors
        self.pages.append(page)
        return page

    @staticmethod
    def csp_violations(page):
        """What the Content-Security-Policy refused on this page (reported events and console errors)."""
        reported = page.evaluate("window.__csp || []")
        return reported + [m for m in page.console_errors if "Content Security Policy" in m]

    @staticmethod
    def shot(page, name):
        """A full-page screenshot for reviewers: test-results/<name>.png."""
        RESULTS.mkdir(exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # the sticky header then stays on top of the capture
        page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)

    @staticmethod
    def page_scrolls_sideways(page):
        """Whether the page itself scrolls horizontally (tables may scroll inside their own box)."""
        return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth + 1")

    def login(self, username, password="demo", size="desktop"):
        page = self.new(size)
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/(\?.*)?$"))
        return page


@pytest.fixture
def pages(browser, server, request):
    p = Pages(browser, server)
    yield p
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        RESULTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::")[-1])
        for i, page in enumerate(p.pages):
            try:
                page.evaluate("window.scrollTo(0, 0)")  # the sticky header then stays on top of the capture
                page.screenshot(path=str(RESULTS / f"{name}{'-' + str(i) if i else ''}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - a screenshot must never hide the real failure
                pass
    violations = [m for page in p.pages for m in page.console_errors if "Content Security Policy" in m]
    for page in p.pages:
        page.context.close()
    assert not violations, violations  # every browser test runs under the policy (app/security_headers.py)
