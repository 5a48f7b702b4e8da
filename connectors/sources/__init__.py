"""Read-source connectors: vendor payloads to canonical PlateRead records.

`base` holds the interface (`ReadConnector`, `TopicConnector`,
`FolderConnector`, `RejectedPayload`), `canonical` the validation every
decoded read goes through, `discovery` the entry-point lookup, and one module
per connector FEBLAM ships: `native_avro` (avro), `vendor_json` (vendor-json),
`csv_folder` (csv-folder). `feblam ingest` runs them; see
docs/adding-a-connector.md.
"""

from connectors.sources.base import (
    FOLDER,
    REASONS,
    TOPIC,
    ConnectorContext,
    ConnectorError,
    FilePayload,
    FolderConnector,
    ReadConnector,
    RejectedPayload,
    TopicConnector,
)
from connectors.sources.canonical import canonical_read
from connectors.sources.discovery import GROUP, discover

__all__ = [
    "FOLDER", "GROUP", "REASONS", "TOPIC", "ConnectorContext", "ConnectorError", "FilePayload",
    "FolderConnector", "ReadConnector", "RejectedPayload", "TopicConnector", "canonical_read", "discover",
]
