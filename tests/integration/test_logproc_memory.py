"""Finding 8 of issue 14 (log writer memory): the writer process grew ~4 MB every 30 s under
steady load. Why: its SQLite connection inherited the store's 256 MiB page cache, and every
page of the growing log stayed in it. The writer's engine keeps a small cache.
"""

from __future__ import annotations

from pathlib import Path

from socialcredit.screening import logchild
from socialcredit.store import make_engine


def test_the_log_writers_page_cache_is_small(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with make_engine(url).connect() as conn:  # the store's own: big, for index builds
        store_kib = -int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    engine = logchild.writer_engine(url)
    with engine.connect() as conn:
        writer_kib = -int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    engine.dispose()
    assert writer_kib <= 16 * 1024 < store_kib
