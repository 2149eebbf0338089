"""Snapshots: one ``.npy`` file per array plus ``meta.json``, in a directory.

``.npy`` rather than ``.npz`` so that :func:`load_index` can memory-map every array: a
restarted server answers after reading a few kilobytes, and the page cache is shared by
every server process on the host. The directory is written beside the target and renamed
into place, so a reader never sees half a snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from socialcredit.screening.index import ScreeningIndex
from socialcredit.screening.layer import Layer
from socialcredit.screening.profiles import ProfileTable, Schema
from socialcredit.screening.slots import KeySlots

FORMAT = 1
_PROFILE_ARRAYS = ("offsets", "mask", "start", "end", "reason")


def save_index(index: ScreeningIndex, path: Path) -> Path:
    """Write a snapshot of ``index`` (its overlay merged first) to directory ``path``."""
    index = index.compact()
    base = index.base
    arrays: dict[str, npt.NDArray[Any]] = {f"slots_{k}": v for k, v in base.slots.arrays().items()}
    arrays |= {"ent_keys": base.ent_keys, "ent_codes": base.ent_codes, "ent_pids": base.ent_pids}
    arrays |= {f"prof_{k}": getattr(base.profiles, k) for k in _PROFILE_ARRAYS}
    meta = {
        "format": FORMAT,
        "rulepack_version": index.schema.rulepack_version,
        "sectors": list(index.schema.sectors),
        "reason_codes": list(index.schema.reason_codes),
        "slots": base.slots.meta(),
        "tomb": base.tomb,
        "ent": base.ent,
        "arrays": sorted(arrays),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), "utf-8")
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_index(path: Path, mmap: bool = True) -> ScreeningIndex:
    """Load a snapshot; ``build_seconds`` on the result is the time it took."""
    t = time.perf_counter()
    path = Path(path)
    meta = json.loads((path / "meta.json").read_text("utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"snapshot {path}: format {meta.get('format')!r}, expected {FORMAT}")
    # Mapped, then seen as plain arrays (the mapping stays their base): np.memmap's Python-
    # level __getitem__ and __array_finalize__ ran on every element a screening read.
    arrays = {
        name: np.load(
            path / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False
        ).view(np.ndarray)
        for name in meta["arrays"]
    }
    slots = KeySlots.from_arrays(
        meta["slots"], {k[6:]: v for k, v in arrays.items() if k.startswith("slots_")}
    )
    profiles = ProfileTable(*(arrays[f"prof_{k}"] for k in _PROFILE_ARRAYS))
    base = Layer(
        slots,
        arrays["ent_keys"],
        arrays["ent_codes"],
        arrays["ent_pids"],
        profiles,
        int(meta["tomb"]),
        int(meta["ent"]),
    )
    schema = Schema(meta["rulepack_version"], tuple(meta["sectors"]), tuple(meta["reason_codes"]))
    return ScreeningIndex(schema, base, build_seconds=time.perf_counter() - t)
