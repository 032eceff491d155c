"""The one cluster a dashboard or a rule watches, and how its names and series are told apart
from another cluster's."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aisinfra.monitoring import metrics

if TYPE_CHECKING:
    from aisinfra.worksheet.model import Worksheet

# Grafana refuses a dashboard uid longer than 40 characters.
MAX_UID = 40


@dataclass(frozen=True)
class ClusterScope:
    release: str
    namespace: str
    target_nodes: tuple[str, ...]
    mountpoints: tuple[str, ...]

    @property
    def label(self) -> str:
        """How titles name the cluster: release and namespace."""
        return f"{self.release} in {self.namespace}"

    def uid(self, dashboard: str) -> str:
        """A dashboard uid unique to this cluster and dashboard, at most 40 characters whatever the
        names' lengths: a digest of namespace, release and dashboard."""
        digest = hashlib.sha256(f"{self.namespace}/{self.release}/{dashboard}".encode()).hexdigest()
        uid = f"ais-{dashboard}-{digest[:20]}"
        assert len(uid) <= MAX_UID, uid
        return uid

    @property
    def nodes_regex(self) -> str:
        return metrics.regex_alternatives(self.target_nodes)

    @property
    def mountpoints_regex(self) -> str:
        return metrics.regex_alternatives(self.mountpoints)


def cluster_scope(worksheet: Worksheet) -> ClusterScope:
    return ClusterScope(
        release=worksheet.release_name,
        namespace=worksheet.namespace,
        target_nodes=tuple(worksheet.target_nodes),
        mountpoints=tuple(worksheet.mountpoints),
    )
