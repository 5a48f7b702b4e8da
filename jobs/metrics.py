"""What the hit job's Python steps count, and how: Flink metrics in one group of each
operator's scope, which Flink's Prometheus reporter exposes (docs/operations.md,
"Metrics")."""

from __future__ import annotations

# Every metric the job's Python defines is under this group of its operator's scope:
# flink_taskmanager_job_task_operator_feblam_... on Prometheus (docs/operations.md, "Metrics").
METRICS_GROUP = "feblam"


class LabelledCounters:
    """Counters of one name told apart by labels: Flink key-value groups, which the
    Prometheus reporter turns into labels (`reason="MALFORMED"`). Made on first use,
    since the label values (reasons, topics, lists) are known only from the data.

    Counters, not gauges, for the values that go up and down too (`dec`): a Python
    gauge (pemja's `MetricGauge`) is read by calling into the interpreter from the
    reporter's thread, taking the GIL from the task's Python at every scrape, while
    a counter is a plain Java object the reporter reads without entering Python."""

    def __init__(self, group, name: str, *labels: str):
        self.group, self.name, self.labels = group, name, labels
        self.counters: dict[tuple, object] = {}

    def get(self, *values: str):
        counter = self.counters.get(values)
        if counter is None:
            group = self.group
            for label, value in zip(self.labels, values):
                group = group.add_group(label, str(value))
            counter = self.counters[values] = group.counter(self.name)
        return counter
