"""``clock.as_utc``: every stored or given time becomes an aware UTC datetime, the same instant."""

from datetime import datetime, timedelta, timezone

import pandas as pd

from sda2.clock import as_utc

CET = timezone(timedelta(hours=1), "CET")


def test_naive_times_are_read_as_utc_and_aware_ones_converted():
    assert as_utc(datetime(2026, 12, 1, 15, 42)) == datetime(2026, 12, 1, 15, 42, tzinfo=timezone.utc)
    converted = as_utc(datetime(2026, 12, 1, 15, 42, tzinfo=CET))
    assert (converted.hour, converted.tzinfo) == (14, timezone.utc)
    assert as_utc(None) is None


def test_a_pandas_timestamp_becomes_a_plain_datetime():
    moment = as_utc(pd.Timestamp("2026-12-01 15:42:10"))
    assert type(moment) is datetime and moment == datetime(2026, 12, 1, 15, 42, 10, tzinfo=timezone.utc)
