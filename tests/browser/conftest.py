"""A headless Chromium driven by Selenium, for checks of the real Airflow UI.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make test-browser`` installs them with apt-get
when missing) and ``selenium`` (the test extra). Without them the browser tests are skipped, unless
``CI`` or ``TIS_BROWSER_REQUIRED`` is set: then a missing browser fails them. Other binaries can be
named with ``CHROMIUM`` and ``CHROMEDRIVER``.

Screenshots go to ``$BROWSER_ARTIFACTS`` (default ``<repo>/.artifacts/browser``); a failed test leaves
``<test>-failure.png`` and ``<test>-failure.html`` there too.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REPO = Path(__file__).resolve().parents[2]
#: Without these flags Chromium calls home (updates, sync, field trials, QUIC), which the closed network
#: here refuses, slowly; only 127.0.0.1 is ever loaded.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--lang=en-US",  # the UI's texts (tabs, buttons, aria labels) follow the browser's language
    "--window-size=1400,1100",
)
#: Long enough for a first page load on a busy 2-core machine (the UI is a 10 MB bundle).
TIMEOUT = 60.0


def _browser_binaries() -> tuple[str, str] | str:
    """(chromium, chromedriver), or why they cannot be used."""
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not (chromium and Path(chromium).is_file() and driver and Path(driver).is_file()):
        return "no chromium/chromedriver (apt-get install -y chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (uv pip install selenium)"
    return chromium, driver


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") or os.environ.get("TIS_BROWSER_REQUIRED"):
        pytest.fail(f"browser check required but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The folder the screenshots go to (kept, never committed)."""
    folder = Path(os.environ.get("BROWSER_ARTIFACTS") or REPO / ".artifacts" / "browser")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the module, with a new empty profile and its network log on."""
    found = _browser_binaries()
    if isinstance(found, str):
        _unavailable(found)
    chromium, chromedriver = found
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path_factory.getbasetemp())
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # for NetworkLog
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


class NetworkLog:
    """The browser's requests and their answers, read from Chromium's performance log."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self._pending: dict[str, dict[str, Any]] = {}

    def forget(self) -> None:
        """Drop everything logged so far."""
        self.driver.get_log("performance")
        self._pending.clear()

    def answered(self, url_part: str) -> list[dict[str, Any]]:
        """The requests to URLs containing ``url_part`` answered since the last call, each
        ``{"method", "url", "body", "status", "answer"}`` (``body``: what was posted)."""
        done: list[str] = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            method, params = message["method"], message.get("params", {})
            if method == "Network.requestWillBeSent" and url_part in params["request"]["url"]:
                request = params["request"]
                self._pending[params["requestId"]] = {
                    "method": request["method"],
                    "url": request["url"],
                    "body": request.get("postData"),
                }
            elif method == "Network.responseReceived" and params["requestId"] in self._pending:
                self._pending[params["requestId"]]["status"] = params["response"]["status"]
            elif method == "Network.loadingFinished" and params["requestId"] in self._pending:
                done.append(params["requestId"])
        exchanges = []
        for request_id in done:
            exchange = self._pending.pop(request_id)
            if exchange["method"] == "OPTIONS":
                continue
            answer = self.driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": request_id})
            exchanges.append({**exchange, "answer": answer["body"]})
        return exchanges


@pytest.fixture
def network(browser: Any) -> NetworkLog:
    """The browser's network log, emptied."""
    log = NetworkLog(browser)
    log.forget()
    return log


@pytest.fixture
def capture(browser: Any, artifacts: Path) -> Callable[[str], Path]:
    """``capture(name)`` saves a screenshot of the whole window as ``<artifacts>/<name>.png``."""

    def _capture(name: str) -> Path:
        path = artifacts / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return _capture


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed and "browser" in getattr(item, "funcargs", {}):
        driver = item.funcargs["browser"]
        folder = Path(os.environ.get("BROWSER_ARTIFACTS") or REPO / ".artifacts" / "browser")
        folder.mkdir(parents=True, exist_ok=True)
        try:
            driver.save_screenshot(str(folder / f"{item.name}-failure.png"))
            (folder / f"{item.name}-failure.html").write_text(driver.page_source)
        except Exception as exc:  # a dead browser must not hide the test's own failure
            report.sections.append(("browser", f"no failure screenshot: {exc!r}"))
    return report
