"""Timestamps as the due-process tables store them: UTC, without a time zone."""

from __future__ import annotations

import datetime as dt


def naive_utc(ts: dt.datetime) -> dt.datetime:
    return ts.astimezone(dt.UTC).replace(tzinfo=None)
