"""Headless Chromium for what measures or tests a page: Debian's chromium and
chromium-driver (scripts/setup installs them) driven by selenium, both paths given
so that Selenium Manager, which would try to download a browser, is never asked."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SETUP_HINT = "run scripts/setup (it installs the chromium and chromium-driver packages and selenium)"
QUIET = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-default-apps", "--disable-sync")


class BrowserMissing(RuntimeError):
    """Chromium, its driver or selenium is not installed; the message says how to get them."""


def chromium(*arguments: str, window: tuple[int, int] = (1280, 800), performance_log: bool = False):
    """A new headless Chromium (a selenium WebDriver); the caller quits it."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        raise BrowserMissing(f"{' and '.join(missing)} not found: {SETUP_HINT}")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:
        raise BrowserMissing(f"selenium is not installed ({error}): {SETUP_HINT}") from None
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (*QUIET, f"--window-size={window[0]},{window[1]}", *arguments):
        options.add_argument(argument)
    if performance_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
