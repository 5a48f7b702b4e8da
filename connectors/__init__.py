"""Getting data in and out: Kafka and schema-registry serde, file readers,
vendor read formats, reference loaders. May import `udfs` and `schemas`.
"""
