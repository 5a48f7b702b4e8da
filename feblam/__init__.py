"""FEBLAM: hit generation for national ANPR networks on Apache Flink."""

__version__ = "0.1.0"
