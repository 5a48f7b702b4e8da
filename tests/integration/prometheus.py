"""Reading Flink's Prometheus reporter(s) of the stack: every endpoint's samples, parsed."""

from __future__ import annotations

import os
from dataclasses import dataclass

import requests
from prometheus_client.parser import text_string_to_metric_families

from feblam.stack.settings import StackSettings


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict
    value: float


def urls() -> list[str]:
    """PROMETHEUS_URLS (comma-separated) when set, else every port of the stack's range."""
    given = os.environ.get("PROMETHEUS_URLS")
    return given.split(",") if given else StackSettings.current().prometheus_urls


def scrape() -> list[Sample]:
    """Every sample of every reporter that answers."""
    samples = []
    for url in urls():
        try:
            text = requests.get(url, timeout=5).text
        except requests.RequestException:
            continue
        for family in text_string_to_metric_families(text):
            samples.extend(Sample(s.name, dict(s.labels), float(s.value)) for s in family.samples)
    return samples


def total(samples: list[Sample], suffix: str, job_id: str | None = None, **labels: str) -> float | None:
    """The sum over subtasks of the samples whose name ends with `suffix`, of the job, with
    the labels given; None when there is none."""
    found = [s.value for s in samples if s.name.endswith(suffix) and (job_id is None or s.labels.get("job_id") == job_id)
             and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(found) if found else None


def by_label(samples: list[Sample], suffix: str, job_id: str, *names: str) -> dict:
    """{label values: summed value} of the samples named `...suffix` of the job."""
    sums: dict = {}
    for s in samples:
        if s.name.endswith(suffix) and s.labels.get("job_id") == job_id:
            key = tuple(s.labels.get(n) for n in names)
            sums[key if len(names) > 1 else key[0]] = sums.get(key if len(names) > 1 else key[0], 0) + s.value
    return sums
