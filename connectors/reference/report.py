"""The HTML report of one reference load: ``report.html`` in the load's report folder.

One self-contained file: inline CSS, no script, no image, no URL but in-page
anchors, and a Content-Security-Policy that forbids any fetch, so it renders the
same on the police network (no internet), from a mail attachment or from a USB
stick. It shows the load (list, file, rows, the verdict), one line per
expectation with a PASS or FAIL mark written out (not colour alone), its
observed value and failing file rows, then, per failed expectation, the values
of the failing rows that it checked (validity dates as ISO dates, never epoch
milliseconds).

Why our own page and not the great-expectations data docs: GX 1.24.1 renders
its data docs from templates that hard-code about twenty CDN URLs
(render/view/templates/js_script_imports.j2, page.j2, index_page.j2: jQuery,
Bootstrap, bootstrap-table, Font Awesome, Vega, a logo on S3) and has no setting
for local assets; its package ships only its own CSS, fonts and images. Offline,
the index's list (filled by bootstrap-table's script) stays empty, the status
icons (Font Awesome) are missing, and the derived columns it shows are ours
(``valid_from_ms`` as ``1780272000000.0``). Serving them locally would mean
vendoring ten third-party libraries and overriding private GX templates, to
be redone at each GX upgrade; the results we need are all in ``QualityResult``.

Values come from untrusted files: every one is HTML-escaped. The page shows what
the data engineer needs to fix the export (row numbers and the failing values,
plates included, as the quarantine CSV does); nothing here is logged.
"""

from __future__ import annotations

import html
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from connectors.reference.diff import Diff
from connectors.reference.mapping import FeedMapping
from connectors.reference.quality import Check, QualityResult, to_text

REPORT_NAME = "report.html"
# Failing rows listed per expectation; every one of them is in the quarantine CSV.
MAX_ROWS_SHOWN = 500
DATE_FIELDS = ("valid_from", "valid_until")
# The fields of the file that a derived column of ``quality.prepare`` is computed from.
_SOURCE_FIELDS = {
    "plate_survives": ("plate",),
    "plate_wildcards_ok": ("plate",),
    "valid_from_parses": ("valid_from",),
    "valid_until_parses": ("valid_until",),
    "valid_until_ms": ("valid_from", "valid_until"),
    "valid_from_ms": ("valid_from", "valid_until"),
    "severity_ok": ("severity",),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DAY_MS = 86_400_000

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2em;
       color: #1f2328; background: #fff; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: .3em; }
h2 { font-size: 1.2em; margin-top: 1.6em; }
h3 { font-size: 1em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; margin: .4em 0; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
table.summary th { width: 12em; }
tr.fail td { background: #fff5f5; }
td.rows, td.observed { font-family: ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
td.value { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; }
.mark { display: inline-block; min-width: 3.2em; text-align: center; font-weight: bold; padding: .05em .4em;
        border-radius: .25em; color: #fff; }
.mark.pass { background: #1a7f37; }
.mark.fail { background: #cf222e; }
.verdict { display: inline-block; font-size: 1.1em; font-weight: bold; padding: .4em .8em; border-radius: .3em; }
.verdict.accepted { background: #dafbe1; border: 2px solid #1a7f37; }
.verdict.refused { background: #ffebe9; border: 2px solid #cf222e; }
.note { color: #59636e; }
code { font-size: .9em; }
@media print { body { margin: 0; } a { color: inherit; text-decoration: none; } }
"""


def iso_instant(millis: float | int) -> str:
    """Epoch milliseconds as ISO-8601 UTC: ``YYYY-MM-DD`` at midnight, else with the time."""
    millis = int(millis)
    try:
        instant = _EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        return f"{millis} ms after 1970 (outside the calendar)"
    if millis % _DAY_MS == 0:
        return instant.strftime("%Y-%m-%d")
    text = instant.strftime("%Y-%m-%dT%H:%M:%S")
    return (text + f".{millis % 1000:03d}" if millis % 1000 else text) + "Z"


def render_report(*, mapping: FeedMapping, file: Path | str, fmt: str, topic: str, frame: pd.DataFrame,
                  published_entries: int, quality: QualityResult, changes: Diff | None = None,
                  dry_run: bool = False, quarantine: Path | str | None = None,
                  at: datetime | None = None) -> str:
    """The page (see the module doc) of one load of ``file``; ``frame`` is ``quality.prepare``'s."""
    at = at or datetime.now(timezone.utc)
    accepted = quality.success
    failed = len(quality.failures)
    if accepted:
        verb = "would publish" if dry_run else "published"
        verdict = (f"ACCEPTED: {verb} {len(changes.upserts)} upserts and {len(changes.deletes)} deletes"
                   if changes is not None else "ACCEPTED")
    else:
        verdict = f"REFUSED: nothing published; the list in force ({published_entries} entries) is unchanged"
    summary = [("List", mapping.list_name), ("Kind", mapping.kind), ("File", str(file)), ("Format", fmt),
               ("Topic", topic), ("Rows in the file", str(len(frame))),
               ("Entries in force before", str(published_entries)),
               ("Expectations", f"{len(quality.checks) - failed} passed, {failed} failed"),
               ("Checked at", at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))]
    if dry_run:
        summary.append(("Dry run", "yes: nothing published, nothing recorded"))
    if quarantine is not None and not accepted:
        summary.append(("Quarantine", f"{quarantine} (every failing row, with the expectations it broke)"))
    title = f"{mapping.list_name}: {'ACCEPTED' if accepted else 'REFUSED'} {Path(file).name}"
    ordered = [(i, c) for i, c in enumerate(quality.checks) if not c.success] + \
              [(i, c) for i, c in enumerate(quality.checks) if c.success]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        # Nothing may be fetched: the page must look the same with no network.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>Reference load: {_e(mapping.list_name)}</h1>",
        f'<p class="verdict {"accepted" if accepted else "refused"}">{_e(verdict)}</p>',
        '<table class="summary">',
        *(f"<tr><th>{_e(name)}</th><td>{_e(value)}</td></tr>" for name, value in summary),
        "</table>",
        f"<h2>Expectations: {failed} of {len(quality.checks)} failed</h2>",
        '<table class="checks">',
        "<thead><tr><th>Result</th><th>Expectation</th><th>Rule</th><th>Column</th><th>Observed</th>"
        "<th>Failing file rows</th></tr></thead>",
        "<tbody>",
        *(_check_row(index, check) for index, check in ordered),
        "</tbody>",
        "</table>",
    ]
    with_rows = [(i, c) for i, c in enumerate(quality.checks) if not c.success and c.failing_rows]
    if with_rows:
        parts += ['<section id="failing-values">', "<h2>Failing rows and the values checked</h2>",
                  '<p class="note">Row numbers count the records of the file from 1 (the header of a CSV '
                  "is not a record). Dates are shown as ISO-8601 UTC.</p>"]
        by_row = dict(zip(frame["_row"].astype(int), frame.index)) if "_row" in frame else {}
        for index, check in with_rows:
            parts += _values_table(index, check, frame, by_row, mapping)
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_report(path: Path, **content: Any) -> Path:
    """Write ``render_report(**content)`` to ``path`` (its folder made); ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(**content), encoding="utf-8")
    return path


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _mark(success: bool) -> str:
    return '<span class="mark pass">PASS</span>' if success else '<span class="mark fail">FAIL</span>'


def _rows_text(rows: tuple[int, ...]) -> str:
    shown = ", ".join(map(str, rows[:MAX_ROWS_SHOWN]))
    if len(rows) > MAX_ROWS_SHOWN:
        shown += f", ... ({len(rows)} rows in all)"
    return shown


def _observed(check: Check) -> str:
    if check.error:
        return f"error: {check.error}"
    value = check.observed
    if value is None:
        return ""
    if check.column in ("valid_from_ms", "valid_until_ms") and isinstance(value, (int, float)) \
            and not isinstance(value, bool) and math.isfinite(value):
        return iso_instant(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_row(index: int, check: Check) -> str:
    css = "pass" if check.success else "fail"
    description = _e(check.description)
    if check.failing_rows:
        description = f'<a href="#values-{index}">{description}</a>'
    return (f'<tr class="{css}" id="check-{index}"><td>{_mark(check.success)}</td><td>{description}</td>'
            f"<td><code>{_e(check.expectation)}</code></td><td>{_e(check.column or '')}</td>"
            f'<td class="observed">{_e(_observed(check))}</td><td class="rows">{_e(_rows_text(check.failing_rows))}</td></tr>')


def _fields(check: Check, frame: pd.DataFrame) -> list[str]:
    wanted: Iterable[str] = _SOURCE_FIELDS.get(check.column or "", (check.column,) if check.column else ())
    fields = [f for f in wanted if f in frame]
    if "entry_id" in frame and "entry_id" not in fields:
        fields.insert(0, "entry_id")
    return fields


def _header(name: str, mapping: FeedMapping) -> str:
    if name.startswith("attributes."):
        return name.removeprefix("attributes.")
    source = mapping.column(name)
    return source if source == name else f"{source} ({name})"


def _value(frame: pd.DataFrame, index: Any, name: str) -> str:
    if name in DATE_FIELDS and f"{name}_ms" in frame and bool(frame.at[index, f"{name}_parses"]):
        millis = frame.at[index, f"{name}_ms"]
        if not math.isnan(millis):
            return iso_instant(millis)
    text = to_text(frame.at[index, name])
    return "(empty)" if text is None else text


def _values_table(index: int, check: Check, frame: pd.DataFrame, by_row: dict, mapping: FeedMapping) -> list[str]:
    fields = _fields(check, frame)
    shown = [row for row in check.failing_rows[:MAX_ROWS_SHOWN] if row in by_row]
    lines = [f'<h3 id="values-{index}">{_mark(False)} {_e(check.description)}</h3>',
             '<table class="values">',
             "<thead><tr><th>File row</th>" + "".join(f"<th>{_e(_header(f, mapping))}</th>" for f in fields)
             + "</tr></thead>", "<tbody>"]
    for row in shown:
        cells = "".join(f'<td class="value">{_e(_value(frame, by_row[row], f))}</td>' for f in fields)
        lines.append(f"<tr><td>{row}</td>{cells}</tr>")
    lines += ["</tbody>", "</table>"]
    if len(check.failing_rows) > len(shown):
        lines.append(f'<p class="note">{len(check.failing_rows) - len(shown)} more failing rows: '
                     "all are in the quarantine CSV.</p>")
    return lines
