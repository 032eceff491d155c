"""Name rules of Kubernetes and Helm themselves, which every worksheet value meets before
the chart derives anything from it (the chart's own naming lives in ``aisinfra.chart.naming``).
Standard library only: the post-renderer imports it under a bare ``python3``."""

from __future__ import annotations

import re

# A label value and a DNS label are at most 63 characters.
MAX_LABEL_VALUE = 63
# Helm refuses release names longer than 53 characters.
MAX_RELEASE_NAME = 53
# Namespaces Kubernetes itself uses; an AIStore cluster gets a namespace of its own.
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# A Kubernetes DNS label (namespaces, release names, volume names): at most 63 characters.
DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
