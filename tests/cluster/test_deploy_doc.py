"""docs/deploy.md shows the HAProxy configuration the cluster tests run, word for word."""

from __future__ import annotations

from tests.cluster.harness import HAPROXY_CFG, ROOT


def test_the_deploy_document_shows_the_haproxy_file_the_tests_use() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text("utf-8")
    assert f"```\n{HAPROXY_CFG.read_text('utf-8')}```" in doc
