"""The docs stand alone: a clone of the repository defines a hit completely in its own words.

- no file of the repository points at a path outside it (the sibling `shared`
  folder some checkouts sit beside is not part of a clone);
- every relative link of README.md and docs/*.md reaches a file of the
  repository, and every `#anchor` a heading of its page (GitHub's slugs);
- docs/hits.md defines every hit kind, priority, dead-letter reason, list kind,
  explanation factor and list default the code declares, so a new one that
  nobody documented fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from udfs import clones, config, model, reference, scoring, validation

ROOT = Path(__file__).resolve().parents[2]
HITS = ROOT / "docs" / "hits.md"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Paths outside the repository that earlier texts pointed at.
OUTSIDE = ("../shared", "shared/spec/", "shared/docs/", "/spec/hit-semantics.md", "/spec/hit-gateway.md",
           "/spec/history-access.md")


def repository_files() -> list[Path]:
    """The files git tracks, and the new ones it would add (not ignored), that exist."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True, timeout=60).stdout
    files = [ROOT / name for name in listed.decode("utf-8").split("\0") if name]
    return [path for path in files if path.is_file() and path != Path(__file__).resolve()]


def test_no_file_points_outside_the_repository():
    found = []
    for path in repository_files():
        data = path.read_bytes()
        if not any(pattern.encode() in data for pattern in OUTSIDE):
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if any(pattern in line for pattern in OUTSIDE):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "paths outside the repository:\n" + "\n".join(found)


# -- links and anchors ---------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lower-case, punctuation dropped, spaces as '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)   # a link reads as its text
    text = text.replace("`", "").replace("*", "").strip().lower()
    return "".join(ch for ch in text if ch.isalnum() or ch in " -_").replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of ``page``: its headings' slugs (a repeated one gets -1, -2, ...) and <a id>."""
    found: set[str] = set(HTML_ANCHOR.findall(page.read_text(encoding="utf-8")))
    counts: dict[str, int] = {}
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            n = counts.get(base, 0)
            counts[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(page: Path) -> list[str]:
    text = prose(page.read_text(encoding="utf-8"))
    return LINK.findall(text) + REFERENCE.findall(text)


def test_the_slugs_are_githubs():
    assert slug("Ingest: vendor reads to canonical reads") == "ingest-vendor-reads-to-canonical-reads"
    assert slug("Clone suspicion (spec §11)") == "clone-suspicion-spec-11"
    assert slug("The file mode as a replay tool (`feblam bench replay`)") == \
        "the-file-mode-as-a-replay-tool-feblam-bench-replay"
    assert slug("7. De-duplication") == "7-de-duplication"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        if SCHEME.match(target) or target.startswith("//"):
            continue  # http(s), mailto: outside the repository by intent
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
            continue
        if ROOT not in linked.parents and linked != ROOT:
            broken.append(f"{target}: outside the repository")
            continue
        if anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}:\n" + "\n".join(broken)


# -- docs/hits.md defines what the code declares ------------------------------------------------

def hits_page() -> str:
    assert HITS.exists(), "docs/hits.md, the definition of a hit, is missing"
    return HITS.read_text(encoding="utf-8")


def priorities() -> dict[str, tuple[int, int]]:
    """Each priority ``udfs.scoring.priority`` gives, with the lowest and highest score giving it."""
    bands: dict[str, tuple[int, int]] = {}
    for score in range(101):
        name = scoring.priority(score)
        low, _ = bands.get(name, (score, score))
        bands[name] = (low, score)
    return bands


def explanation_factors() -> list[str]:
    """Every factor an explanation can hold: a match with every penalty, and a clone suspicion."""
    _, _, explanation = scoring.score(50, model.WILDCARD, 1, False, 0.5)
    read = model.PlateRead("R1", "CAM-1", 1_772_352_900_000, "1ABC123", "1ABC123", None, 0.95)
    entry = (1_772_352_000_000, "R0", "CAM-0", None, 0.95, 50.0, 4.0)
    suspicion = clones.Suspicion(entry, 100.0, 900_000, 400.0)
    clone = clones.clone_hit(read, suspicion, clones.CloneSettings())
    return list(dict.fromkeys([f for f, _ in explanation] + [f for f, _ in clone.explanation]))


DECLARED = {
    "hit kind": [*model.MATCH_KINDS, clones.CLONE_SUSPECT],
    "priority": sorted(priorities()),
    "dead-letter reason": list(validation.REASONS),
    "list kind": list(config.KINDS),
    "list": [*config.DEFAULT_LISTS, clones.CLONE_LIST],
    "refusal reason": [reference.MALFORMED, reference.BAD_OP, reference.EMPTY_PLATE, reference.BAD_WILDCARD,
                       reference.BAD_VALIDITY, reference.BAD_SEVERITY, reference.BAD_ATTRIBUTES,
                       reference.BAD_CAMERA, reference.WRONG_LIST, reference.KEY_MISMATCH],
    "explanation factor": explanation_factors(),
}


@pytest.mark.parametrize("what", sorted(DECLARED))
def test_hits_page_defines_what_the_code_declares(what):
    text = hits_page()
    missing = [name for name in DECLARED[what] if f"`{name}`" not in text]
    assert not missing, f"docs/hits.md does not define the {what}(s) {missing}"


def test_hits_page_gives_each_priority_its_scores():
    text = hits_page()
    for name, (low, high) in priorities().items():
        row = f"| `{name}` | {low} to {high} |"
        assert row in text, f"docs/hits.md: no row {row!r} (udfs.scoring.priority)"


def test_hits_page_gives_the_list_defaults_of_the_code():
    text = hits_page()
    fmt = config.format_duration
    rows = [f"| `{name}` | {s.max_ocr_substitutions} | {s.severity} | {fmt(s.dedup_window_ms)} |"
            for name, s in config.DEFAULT_LISTS.items() if s.kind == config.ALERT]
    d = config.DEFAULT_ALERT
    rows.append(f"| any other alert list | {d.max_ocr_substitutions} | {d.severity} | {fmt(d.dedup_window_ms)} |")
    missing = [row for row in rows if row not in text]
    assert not missing, "docs/hits.md: the list defaults differ from udfs.config:\n" + "\n".join(missing)


def test_hits_page_gives_the_thresholds_of_the_code():
    """The configurable numbers, as the page states them, are the code's defaults."""
    text = hits_page()
    s, c = config.MatchingSettings(), clones.CloneSettings()
    g = s.dead_letter_guard
    fmt = config.format_duration
    stated = {
        "LEZ confidence floor": f"`lez.confidence_floor` | {s.lez_confidence_floor:.2f}",
        "LEZ_NOT_ADMITTED severity": f"`lez.not_admitted_severity` | {s.lez_not_admitted_severity}",
        "LEZ_UNREGISTERED severity": f"`lez.unregistered_severity` | {s.lez_unregistered_severity}",
        "allowed lateness": f"`dedup.allowed_lateness` | {fmt(s.dedup_allowed_lateness_ms)}",
        "state retention": f"`dedup.state_retention` | {fmt(s.dedup_state_retention_ms)}",
        "clone confidence floor": f"`clones.confidence_floor` | {c.confidence_floor:.2f}",
        "clone window": f"`clones.window` | {fmt(c.window_ms)}",
        "clone distance": f"`clones.min_distance_km` | {c.min_distance_km:g}",
        "clone speed": f"`clones.max_speed_kmh` | {c.max_speed_kmh:g}",
        "clone severity": f"`clones.severity` | {c.severity}",
        "dead-letter share": f"`dead_letter_guard.max_share` | {g.max_share:.2f}",
        "dead-letter window": f"`dead_letter_guard.min_reads` | {g.min_reads}",
        "dead-letter guard fails the job": f"`dead_letter_guard.fail_job` | {str(g.fail_job).lower()}",
        "OCR classes": "`ocr_classes` | " + ", ".join(f"`{k}`" for k in s.ocr_classes),
    }
    missing = [f"{what}: {row!r}" for what, row in stated.items() if row not in text]
    assert not missing, "docs/hits.md differs from the code's defaults:\n" + "\n".join(missing)


# -- the docs' one-line commands print what the docs say they print ----------------------------

ONE_LINER = re.compile(r"python -c '([^']+)'\s+(?:#|--)\s*(\S+)")


def test_every_documented_one_liner_prints_what_its_comment_says():
    """`python -c '...'    # RESULT` in a page or a docstring: how to normalise a plate
    before looking it up, for one, which a wrong example would make a query find nothing."""
    found = []
    for path in [*PAGES, ROOT / "connectors" / "history.py"]:
        found += [(path, code, result) for code, result in ONE_LINER.findall(path.read_text(encoding="utf-8"))]
    assert found, "no documented one-liner found: the pattern no longer matches the docs"
    for path, code, expected in found:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.strip() == expected, (path.name, code, done.stdout, done.stderr)
