"""Instants as epoch milliseconds, UTC (spec §1, §10)."""

from __future__ import annotations

from datetime import datetime, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class BadInstant(ValueError):
    """A value that is not an instant of the accepted forms."""


def parse_instant(value: object) -> int:
    """Epoch milliseconds of ``value``: ISO-8601 text with a UTC offset, or epoch millis.

    Text must carry its offset (``Z`` or ``+hh:mm``): a text without one does not
    name an instant and is refused. Sub-millisecond digits are truncated. An
    epoch value must be an integer (a ``bool`` is not). Raises ``BadInstant``.
    """
    if isinstance(value, bool):
        raise BadInstant(f"not an instant: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as err:
            raise BadInstant(f"not an ISO-8601 instant: {value!r}") from err
        if parsed.tzinfo is None or len(text) < 16:
            raise BadInstant(f"ISO-8601 instant without a UTC offset: {value!r}")
        delta = parsed - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    raise BadInstant(f"not an instant: {value!r}")


def format_instant(millis: int) -> str:
    """ISO-8601 UTC text with milliseconds, e.g. ``2026-03-01T08:15:00.250Z``."""
    seconds, ms = divmod(millis, 1000)
    dt = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"
