"""The cluster tests' fixture: one throwaway cluster for every cluster test.

``cluster`` (session scope): a PostgreSQL primary with fsync on, a streaming replica made by
``pg_basebackup -R``, Redis for the shared rate limits, two ``socialcredit serve`` nodes
reading the replica and writing to the primary, and HAProxy running ``deploy/haproxy.cfg``
in front of them (``tests/cluster/harness.py`` says how each is started). Twenty subjects
are listed as court defaulters (``person_id(0..19)``, all named 王建国) and the party ``AIR``
(flight, a rate no test reaches) has the key ``cluster.keys["air"]``. A test that breaks a
piece (kills a node, stops the replica, restarts the primary) puts it back before it ends.
Skipped when PostgreSQL, Redis or HAProxy is not installed (`make services` installs them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.harness import Cluster, missing_binaries, open_cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    why = missing_binaries()
    if why:
        pytest.skip(why)
    c = open_cluster()
    try:
        yield c
    finally:
        c.close()
