"""The dead letter of a read, built in one place for every writer of one: the
hit-generation job's codecs (files and Kafka) and the ingest stage.

`dead_letter_record` gives the record of the DeadLetter contract
(schemas/DeadLetter.avsc), ready for its Avro encoder; `file_dead_letter` gives
the same dead letter as the file mode writes it (spec §10). Both keep what spec
§3 asks: the original record whole, its source position, the `read_id` when it
could be read, one reason, and a `detail` of at most MAX_DETAIL_BYTES (a detail
may quote the record, which can be of any size).
"""

from __future__ import annotations

import time

# Spec §3: what a dead letter (or a refusal) adds to the original bytes is bounded:
# its detail, and its read_id, which is a copy of part of the original.
MAX_DETAIL_BYTES = 1024
MAX_READ_ID_BYTES = 1024
# What a dead letter or a refusal may add to its original bytes, with room to spare:
# the bounded detail and read_id, the reason, the source position, the Avro framing,
# the message key (the position as text) and Kafka's record overhead. Their topics
# accept records this much larger than their inputs do (connectors.topics.make_room).
HEADROOM_BYTES = 64 * 1024


def bounded(detail: str | None) -> str | None:
    """`detail` cut to at most MAX_DETAIL_BYTES of UTF-8, ending in "..." when cut;
    None for no detail (None or empty)."""
    if not detail:
        return None
    encoded = detail.encode("utf-8")
    if len(encoded) <= MAX_DETAIL_BYTES:
        return detail
    return encoded[:MAX_DETAIL_BYTES - 3].decode("utf-8", errors="ignore") + "..."


def now_ms() -> int:
    """The wall clock in epoch milliseconds: when a record was dead-lettered or refused."""
    return int(time.time() * 1000)


def dead_letter_record(reason: str, original: bytes | None, *, detail: str | None = None,
                       read_id: str | None = None, topic: str | None = None, partition: int | None = None,
                       offset: int | None = None, received_at: int | None = None) -> dict:
    """The DeadLetter contract's record: `original` exactly as received (no bytes are
    empty bytes), `detail` bounded, `read_id` dropped when longer than
    MAX_READ_ID_BYTES (it is in `original`), the source position (`topic` None for a file, whose
    line number is `offset`), and `received_at` in epoch ms, now unless given."""
    return {
        "reason": reason,
        "detail": bounded(detail),
        "read_id": read_id if read_id is None or len(read_id.encode("utf-8")) <= MAX_READ_ID_BYTES else None,
        "original": bytes(original or b""),
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "received_at": now_ms() if received_at is None else received_at,
    }


def file_dead_letter(record: dict) -> dict:
    """A DeadLetter record as a line of the file mode's dead-letter output (spec §10):
    reason, read_id, detail, the original line as text, and its position (the line)."""
    return {"reason": record["reason"], "read_id": record["read_id"], "detail": record["detail"],
            "original": record["original"].decode("utf-8", errors="replace"), "position": record["source_offset"]}
