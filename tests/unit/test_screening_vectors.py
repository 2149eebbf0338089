"""The block path's array helpers agree with their one-value counterparts."""

from __future__ import annotations

import random

import pyarrow as pa

from socialcredit.domain.identity import ric_check_char
from socialcredit.screening.ids import fast_id
from socialcredit.screening.vectors import resident_keys


def _ids() -> list[str | None]:
    rng = random.Random(11)
    out: list[str | None] = [None, "", "1" * 17, "1" * 19, "91110000600037341L"]
    for _ in range(3000):
        first = "".join(rng.choice("0123456789") for _ in range(17))
        good = first + ric_check_char(first)
        out.append(good)
        out.append(good.lower())  # a lower-case x: the row-by-row path folds it
        out.append(first + rng.choice("0123456789X"))  # the check character right or not
        bad = list(good)
        bad[rng.randrange(17)] = rng.choice("/:aA ０")  # just below or above the digits
        out.append("".join(bad))
    return out


def test_resident_keys_are_fast_ids_canonical_persons() -> None:
    """A row is plain exactly when ``fast_id`` takes it, as it is, for a person."""
    ids = _ids()
    for arr in (pa.array(ids, pa.string()), pa.array(["x", *ids], pa.string()).slice(1)):
        ok, keys = resident_keys(arr)
        for i, raw in enumerate(ids):
            fid = None if raw is None else fast_id(raw)
            want = fid is not None and fid.code is None and fid.value == raw
            assert bool(ok[i]) == want, raw
            assert int(keys[i]) == (fid.key if want and fid is not None else 0), raw
