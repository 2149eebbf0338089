"""Nodes on a streaming replica: every change ingested on the primary reaches every node's
answers, and HAProxy sends screenings only to ready nodes. The freshness figure (p99 over
the changes) is printed here and measured by bench/cluster.py; the test asserts the flips."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.cluster.harness import Cluster, defaulter, paid, person_id, screen

pytestmark = pytest.mark.cluster

CHANGES = 50
FLIP_DEADLINE_S = 15.0  # a generous bound for "eventually" on a shared machine


def decision(client: httpx.Client, base: str, key: str, sid: str) -> str:
    r = screen(client, base, key, sid, "李娜")
    return str(r.json().get("decision")) if r.status_code == 200 else str(r.status_code)


def test_changes_on_the_primary_flip_every_nodes_answer(cluster: Cluster) -> None:
    key = cluster.keys["air"]
    lags: list[float] = []
    with httpx.Client(timeout=5) as client:
        for i in range(CHANGES):
            sid = person_id(1000 + i)
            rec = defaulter(sid, "李娜", f"(2026)京0108执R{i}号")
            # half the changes list a new subject, half pay a debt listed by the first half
            if i < CHANGES // 2:
                cluster.ingest([rec])
                want = "deny"
            else:
                sid = person_id(1000 + i - CHANGES // 2)
                cluster.ingest([paid(defaulter(sid, "李娜", f"(2026)京0108执R{i - 25}号"))])
                want = "allow"
            t0 = time.monotonic()
            for node in cluster.nodes:
                while decision(client, node.base, key, sid) != want:
                    assert time.monotonic() - t0 < FLIP_DEADLINE_S, (node.name, sid, want)
                    time.sleep(0.005)
            lags.append(time.monotonic() - t0)
    lags.sort()
    p50, worst = lags[len(lags) // 2], lags[-1]
    print(f"freshness over {CHANGES} changes: p50 {p50:.3f} s, max {worst:.3f} s")  # noqa: T201


def test_nodes_read_the_replica_and_haproxy_checks_readiness(cluster: Cluster) -> None:
    assert cluster.replica is not None and cluster.haproxy is not None
    for node in cluster.nodes:
        code, body = node.ready()
        assert code == 200 and body["status"] == "ready"
        assert body["read_database"] == "reachable"
        assert httpx.get(f"{node.base}/health/live").json() == {"status": "live"}
    with httpx.Client(timeout=5) as client:
        r = screen(client, cluster.haproxy.url, cluster.keys["air"], person_id(3), "王建国")
    assert r.status_code == 200 and r.json()["decision"] == "deny"
