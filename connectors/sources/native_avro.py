"""`avro`: the native feed, PlateRead Avro in the Confluent wire format.

Cameras that already speak FEBLAM's contract. Decoding needs the schema
registry (the writer schema is fetched by its id, once); a message that is not
a decodable PlateRead is MALFORMED. An unreachable registry is no fault of the
message: `RegistryError` stops ingest instead of dead-lettering every read.
"""

from __future__ import annotations

from connectors.avro import AvroDecodeError
from connectors.sources.base import ConnectorContext, RejectedPayload, TopicConnector
from udfs.validation import MALFORMED


class AvroReads(TopicConnector):
    name = "avro"
    description = "FEBLAM's own PlateRead Avro (Confluent wire format, schema registry): decoded and validated"

    def __init__(self, context: ConnectorContext | None = None):
        super().__init__(context)
        if self.context.registry is None:
            raise ValueError("the avro connector needs a schema registry (--registry-url)")
        from connectors.contracts import ReadDecoder

        self._decoder = ReadDecoder(self.context.registry)

    def decode(self, payload: bytes) -> dict:
        try:
            return self._decoder.decode(payload)
        except AvroDecodeError as error:
            raise RejectedPayload(MALFORMED, str(error), payload) from None
