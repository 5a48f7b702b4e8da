"""The local FEBLAM stack: a KRaft Kafka broker, Apicurio Registry and a standalone
Flink cluster, each on 127.0.0.1, managed by `scripts/stack up|down|status`.

`settings` says where things live and listen, `process` starts and stops one
daemon, `services` knows the services, `state` records what runs so that
tests and `feblam submit` can find it.
"""
