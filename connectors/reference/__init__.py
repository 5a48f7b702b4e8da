"""Reference loaders: files exported by the owners of reference lists, checked by a
great-expectations suite per list kind, published to the list's compacted topic as
the difference from what is published (see docs/adding-a-reference-list.md).

Modules: ``formats`` (file readers), ``mapping`` (per-feed column mapping),
``quality`` (the suites), ``diff`` (snapshot vs file), ``publisher`` (Kafka:
read the published snapshot, write upserts and tombstones), ``history`` (load and
refusal history), ``loader`` (one load, end to end).
"""
