"""`feblam bench e2e`: FEBLAM's hit-generation job and a plain Flink SQL join, on the
real stack, measured the same way (`e2e` drives a run, `stats` turns what it saw into
figures, `rss` samples the Flink processes' memory, `png` draws the chart)."""
