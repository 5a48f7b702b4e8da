"""The report of a refused reference load renders completely with no network.

The police network the loader runs on has no internet: a report that fetches
its styles or scripts from a CDN shows an empty page there. The report of a
real load (``connectors.reference.loader.load``, as `feblam reference load`
runs it, with the list in force stubbed so that no Kafka is needed) is opened
in headless Chromium with the network off (DevTools offline emulation, and a
proxy that goes nowhere for anything that slips past it). Every request the
page made is recorded: none may leave ``file://``. The failing expectations
must be visibly marked FAIL, and dates must read as dates.

Needs Debian's chromium and chromium-driver and the selenium package, which
scripts/setup installs; without them the test fails, it never skips.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from connectors.reference import loader
from connectors.reference.loader import LoadRequest
from connectors.reference.mapping import feed_mapping
from tests.unit.reference.files import alert_rows, write

from .browser import chromium

PLATE_RULE = "'plate' normalises to 1..12 characters A-Z 0-9"
DATE_ORDER_RULE = "'valid_from' is before 'valid_until'"
A_PASSING_RULE = "'entry_id' is unique"


@pytest.fixture(scope="module")
def browser():
    # Whatever the offline emulation misses goes to a closed port.
    driver = chromium("--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>", performance_log=True)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        yield driver
    finally:
        driver.quit()


def _requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _refused_report(tmp_path, monkeypatch) -> Path:
    """The report of a real load of an export with a bad plate (row 2) and a row whose
    validity ends before it starts (row 3), refused by the quality gate."""
    rows = alert_rows()
    rows[1]["plate"] = "-.-"
    rows[2].update(valid_from="2027-01-01", valid_until="2026-06-01")
    export = write(tmp_path, rows, "csv", "stolen-export")
    # The list in force, as read back from its topic: three entries, so the row-count guard passes.
    monkeypatch.setattr(loader, "read_published", lambda *args, **kwargs: {f"E{i}": {} for i in range(1, 4)})
    outcome = loader.load(LoadRequest(
        file=export, mapping=feed_mapping("stolen_vehicles", {"attributes": ["case"]}),
        bootstrap_servers="127.0.0.1:9", registry_url="http://127.0.0.1:9", report_root=tmp_path / "reports",
        history_file=tmp_path / "history.json", dry_run=True))
    assert not outcome.accepted
    report = outcome.report_file
    assert report is not None and report.is_file(), "the refusal wrote no report"
    return report


def _expectation_row(driver, description: str):
    from selenium.webdriver.common.by import By

    quoted = "concat('" + description.replace("'", "', \"'\", '") + "', '')"
    rows = driver.find_elements(By.XPATH, f"//tr[td[normalize-space(.) = {quoted}]]")
    assert rows, f"no row for the expectation {description!r} in the report"
    return rows[0]


def test_the_report_of_a_refusal_renders_offline_with_failures_marked_and_dates_as_dates(
        browser, tmp_path, monkeypatch):
    from selenium.webdriver.common.by import By

    report = _refused_report(tmp_path, monkeypatch)
    # Opened from a copy elsewhere, as when mailed to the data engineer: the page stands alone.
    alone = tmp_path / "mailed" / "report.html"
    alone.parent.mkdir()
    shutil.copyfile(report, alone)
    browser.get_log("performance")  # drop what came before
    browser.get(alone.as_uri())

    requested = _requested_urls(browser)
    assert requested, "the performance log recorded no request at all (not even the page)"
    assert [url for url in requested if not url.startswith("file://")] == []

    for description, rows in ((PLATE_RULE, "2"), (DATE_ORDER_RULE, "3")):
        row = _expectation_row(browser, description)
        mark = row.find_element(By.CSS_SELECTOR, ".mark")
        assert mark.is_displayed() and mark.text == "FAIL", (description, mark.text)
        assert mark.value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent"), \
            "the page's own styles did not apply"
        assert row.find_element(By.CSS_SELECTOR, ".rows").text == rows, description
    passing = _expectation_row(browser, A_PASSING_RULE).find_element(By.CSS_SELECTOR, ".mark")
    assert passing.is_displayed() and passing.text == "PASS"
    verdict = browser.find_element(By.CSS_SELECTOR, ".verdict")
    assert verdict.is_displayed() and "REFUSED" in verdict.text

    text = browser.find_element(By.TAG_NAME, "body").text
    failing_values = browser.find_element(By.ID, "failing-values").text
    assert "2027-01-01" in failing_values and "2026-06-01" in failing_values, failing_values
    assert "-.-" in failing_values  # the bad plate, for the data engineer to fix
    # Epoch milliseconds, as a float ('1780272000000.0', what the GX data docs showed) or not.
    assert not re.search(r"\b\d{12,13}(\.\d+)?\b", text), "an epoch number is shown instead of a date"
    assert "stolen-export.csv" in text and "stolen_vehicles" in text
