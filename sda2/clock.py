"""Times as sda2 compares and shows them: aware UTC datetimes (MongoDB hands back naive UTC)."""

from __future__ import annotations

from datetime import datetime, timezone


def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` as an aware UTC datetime: a naive one is read as UTC, an aware one converted (None stays None)."""
    if moment is None:
        return None
    if hasattr(moment, "to_pydatetime"):  # a pandas Timestamp (its astimezone(None) would drop the zone)
        moment = moment.to_pydatetime()
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
