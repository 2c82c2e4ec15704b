"""Values as Redis holds them: replies as text, times as Unix timestamps."""

from __future__ import annotations

from datetime import UTC, datetime


def to_stamp(value: datetime | None) -> str:
    return "" if value is None else str(value.timestamp())


def from_stamp(raw: str | bytes | None) -> datetime | None:
    if not raw:
        return None
    return datetime.fromtimestamp(float(raw), tz=UTC)


def as_text(raw: str | bytes | None) -> str | None:
    """A Redis reply as text; None for a missing or empty one."""
    if raw is None or raw == "":
        return None
    return raw.decode() if isinstance(raw, bytes) else raw
