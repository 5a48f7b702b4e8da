"""Thin Flink wiring: each module builds one job graph from `udfs` and `connectors`."""
