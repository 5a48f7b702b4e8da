"""The HTML report of a load: one self-contained page, every value escaped, dates as dates.

(That it renders offline in a real browser: tests/integration/test_report_offline.py.)
"""

from __future__ import annotations

import json
import re

import pytest

from connectors.reference import loader
from connectors.reference.diff import Diff
from connectors.reference.formats import read_table
from connectors.reference.loader import LoadRequest
from connectors.reference.mapping import feed_mapping
from connectors.reference.quality import prepare, validate
from connectors.reference.report import iso_instant, render_report

from .files import alert_rows, write

MAPPING = feed_mapping("stolen_vehicles", {"attributes": ["case"]})


def page(tmp_path, rows, published=3, mapping=MAPPING, **extra) -> str:
    path = write(tmp_path, rows, "csv")
    frame = prepare(read_table("csv", path), mapping)
    quality = validate(frame, mapping, published)
    return render_report(mapping=mapping, file=path, fmt="csv", topic=f"ref.{mapping.list_name}", frame=frame,
                         published_entries=published, quality=quality, **extra)


def _check_rows(html: str) -> dict[str, str]:
    """description -> PASS/FAIL, from the expectations table."""
    found = re.findall(r'<tr class="(?:pass|fail)" id="check-\d+"><td><span class="mark (?:pass|fail)">(PASS|FAIL)'
                       r'</span></td><td>(?:<a href="#values-\d+">)?(.*?)(?:</a>)?</td>', html)
    return {description: mark for mark, description in found}


def test_a_refusal_report_names_the_failing_expectation_and_the_duplicate_id(tmp_path):
    rows = alert_rows()
    rows[1]["entry_id"] = "E1"
    html = page(tmp_path, rows, quarantine=tmp_path / "q.csv")
    marks = _check_rows(html)
    assert marks["&#x27;entry_id&#x27; is unique"] == "FAIL"
    assert [d for d, m in marks.items() if m == "FAIL"] == ["&#x27;entry_id&#x27; is unique"]
    assert list(marks.values()).count("PASS") == len(marks) - 1
    assert 'class="verdict refused">REFUSED' in html and "q.csv" in html
    values = html[html.index('id="failing-values"'):]
    assert '<td class="rows">1, 2</td>' in html and "<td>1</td>" in values and "<td>2</td>" in values
    assert values.count(">E1</td>") == 2  # the duplicate id, in each failing row


def test_the_page_fetches_nothing_and_needs_no_script(tmp_path):
    rows = alert_rows()
    rows[0]["plate"] = "-.-"
    html = page(tmp_path, rows)
    assert "://" not in html and "<script" not in html.lower() and "<link" not in html.lower()
    assert "<img" not in html.lower() and "url(" not in html.lower() and "@import" not in html.lower()
    assert all(target.startswith("#") for target in re.findall(r'(?:href|src)="([^"]*)"', html))
    assert "default-src 'none'" in html  # and the browser is told to fetch nothing


def test_every_value_from_the_file_is_escaped(tmp_path):
    rows = alert_rows()
    rows[0].update(entry_id='<script>alert("id")</script>', plate="<img src=x onerror=alert(1)>",
                   valid_from="<b>soon</b>")
    rows[1]["entry_id"] = rows[0]["entry_id"]
    html = page(tmp_path, rows, published=None)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;id&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b&gt;soon&lt;/b&gt;" in html


def test_an_escaped_file_name_and_list_name(tmp_path):
    rows = alert_rows()
    path = write(tmp_path, rows, "csv", name='"><i>x')
    frame = prepare(read_table("csv", path), MAPPING)
    html = render_report(mapping=MAPPING, file=path, fmt="csv", topic="<t>", frame=frame, published_entries=0,
                         quality=validate(frame, MAPPING, 0), changes=Diff((), ()))
    assert "<i>" not in html and "<t>" not in html and "&quot;&gt;&lt;i&gt;x.csv" in html


def test_dates_of_failing_rows_show_as_iso_dates_never_epoch_milliseconds(tmp_path):
    rows = alert_rows()
    rows[0].update(valid_from="2027-01-01", valid_until="2026-06-01")  # ends before it starts
    rows[2].update(valid_from="1767225600000", valid_until="2025-12-31T06:30:00+01:00")  # epoch ms, an offset
    html = page(tmp_path, rows)
    values = html[html.index('id="failing-values"'):]
    assert '<td class="value">2027-01-01</td><td class="value">2026-06-01</td>' in values
    assert '<td class="value">2026-01-01</td><td class="value">2025-12-31T05:30:00Z</td>' in values
    assert '<td class="rows">1, 3</td>' in html
    # Epoch milliseconds, as a float ('1780272000000.0', what the GX data docs showed) or not.
    assert not re.search(r"\b\d{12,13}(\.\d+)?\b", html), "an epoch number is shown instead of a date"


def test_an_unparseable_date_is_shown_as_the_file_has_it(tmp_path):
    rows = alert_rows()
    rows[1]["valid_until"] = "31/12/2026"
    html = page(tmp_path, rows)
    assert _check_rows(html)[
        "&#x27;valid_until&#x27; is empty or a date/instant (ISO-8601 with offset, YYYY-MM-DD, epoch ms)"] == "FAIL"
    assert '<td class="value">31/12/2026</td>' in html[html.index('id="failing-values"'):]


@pytest.mark.parametrize("millis,text", [(0, "1970-01-01"), (1780272000000, "2026-06-01"),
                                         (1780272000000.0, "2026-06-01"), (1780290000000, "2026-06-01T05:00:00Z"),
                                         (1780272000123, "2026-06-01T00:00:00.123Z"), (-86400000, "1969-12-31")])
def test_iso_instant(millis, text):
    assert iso_instant(millis) == text


def test_an_accepted_file_is_all_pass_with_what_it_publishes(tmp_path):
    html = page(tmp_path, alert_rows(), changes=Diff(upserts=({"entry_id": "E1"},), deletes=()), dry_run=True)
    assert set(_check_rows(html).values()) == {"PASS"}
    assert "ACCEPTED: would publish 1 upserts and 0 deletes" in html and "failing-values" not in html


def test_a_load_writes_the_report_beside_its_summary(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "read_published", lambda *args, **kwargs: {"E1": {}, "E2": {}, "E3": {}})
    rows = alert_rows()
    request = dict(mapping=MAPPING, bootstrap_servers="127.0.0.1:9", registry_url="http://127.0.0.1:9",
                   report_root=tmp_path / "reports", history_file=tmp_path / "h.json", dry_run=True)
    accepted = loader.load(LoadRequest(file=write(tmp_path, rows, "csv", "good"), **request))
    rows[1]["plate"] = "-.-"
    refused = loader.load(LoadRequest(file=write(tmp_path, rows, "csv", "bad"), **request))
    for outcome, verdict in ((accepted, "ACCEPTED"), (refused, "REFUSED")):
        assert outcome.report_file == outcome.report_dir / "report.html"
        assert f'class="verdict {verdict.lower()}">{verdict}' in outcome.report_file.read_text(encoding="utf-8")
        summary = json.loads((outcome.report_dir / "summary.json").read_text())
        assert summary["report"] == str(outcome.report_file) and "data_docs" not in summary
    assert not list(tmp_path.glob("reports/**/gx"))  # no GX data docs any more
    assert not (tmp_path / "h.json").exists()
