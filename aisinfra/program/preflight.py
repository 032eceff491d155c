"""The preflight layer: before AIStore installs, one Job per target node checks that node's
mountpoints against the worksheet's disk rules, and the Release waits for every Job.

The check is ``preflight.sh``, run unchanged by the Job (inline, so the script is part of
the Job's spec) and by the tests. A Job is named after a hash of its pod template -- the
node, its mountpoints, the state path, the script and the image: a node whose checks did not
change keeps its completed Job, a change runs a new one, adding a node adds one Job.
``pulumi.com/replaceUnready`` makes the next ``pulumi up`` replace a Job that failed, so a
fixed node is checked again instead of the failed Job failing the update once more.

Least privilege: the container runs as an unprivileged user with every capability dropped,
no service account token and a read-only root filesystem, and sees only what it checks --
read-only host mounts of the mountpoints' parent directories (a recursive bind, so the disks
mounted below them are visible; mounting each mountpoint itself would make the container
runtime create a missing one on the node, or keep the pod from starting, with no message
naming it), of the state path, and an emptyDir whose filesystem is the kubelet's own.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from aisinfra.chart import naming
from aisinfra.worksheet.model import Worksheet

SCRIPT = Path(__file__).with_name("preflight.sh").read_text()
# Where the node's directories appear in the container: the same paths under HOST.
HOST = "/host"
KUBELET_FS = "/kubelet-fs"
CONTAINER = "check"
# nobody: stat needs no privilege; listing a mountpoint needs it to be world-readable, as a
# fresh filesystem's root is (the script says so when it is not).
UNPRIVILEGED_USER = 65534
# Well under the provider's 10-minute wait for a Job, so a pod that never starts (a missing
# parent directory, an image that cannot be pulled) fails the Job with DeadlineExceeded.
DEADLINE_SECONDS = 180
JOB_NAME_PREFIX = "preflight-"
DIGEST_LENGTH = 10
MAX_JOB_NAME = 63  # the Job's name becomes its pods' job-name label value
COMPONENT_LABELS = {"app.kubernetes.io/name": "aisinfra-preflight", "app.kubernetes.io/component": "preflight"}
JOB_SELECTOR = "app.kubernetes.io/name=aisinfra-preflight"  # kubectl -n NAMESPACE get jobs -l ...


@dataclass(frozen=True)
class NodeCheck:
    """Everything one node's check depends on."""

    node: str
    mountpoints: tuple[str, ...]
    state_path: str
    image: str


def node_checks(worksheet: Worksheet) -> list[NodeCheck]:
    """One check per target node: every target node mounts the same mountpoints."""
    mountpoints = tuple(worksheet.mountpoints)
    return [
        NodeCheck(node=node, mountpoints=mountpoints, state_path=worksheet.state_path, image=worksheet.preflight.image)
        for node in worksheet.target_nodes
    ]


SKIPPED = "skipped (preflight.enabled: false): the target nodes' disks are not checked before AIStore installs"


def preflight_status(worksheet: Worksheet) -> dict[str, Any] | str:
    """The stack output: how many check Jobs, their image and how to list them (a size that
    does not grow with the nodes), or that the checks are skipped."""
    if not worksheet.preflight.enabled:
        return SKIPPED
    return {
        "image": worksheet.preflight.image,
        "jobs": len(worksheet.target_nodes),
        "selector": JOB_SELECTOR,
    }


def mountpoint_parents(mountpoints: tuple[str, ...]) -> list[str]:
    """The directories the mountpoints are in, once each, in order."""
    return list(dict.fromkeys(posixpath.dirname(path) for path in mountpoints))


def _host_volume(name: str, path: str, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    volume = {"name": name, "hostPath": {"path": path, "type": kind}}
    mount = {"name": name, "mountPath": HOST + path.rstrip("/"), "readOnly": True}
    return volume, mount


def pod_template(check: NodeCheck) -> dict[str, Any]:
    """The Job's pod template: pinned to the node, the script and what it inspects."""
    volumes, mounts = [], []
    for index, parent in enumerate(mountpoint_parents(check.mountpoints)):
        # A parent that does not exist keeps the pod from starting (DeadlineExceeded) rather
        # than being created on the node.
        volume, mount = _host_volume(f"mountpoints-{index}", parent, "Directory")
        volumes.append(volume)
        mounts.append(mount)
    # The chart's own hostPath creates the state path on first install; creating it here,
    # empty, is the one thing the check changes on a node, and it tells the check exactly
    # which filesystem the state will be on.
    volume, mount = _host_volume("state-path", check.state_path, "DirectoryOrCreate")
    volumes.append(volume)
    mounts.append(mount)
    volumes.append({"name": "kubelet-fs", "emptyDir": {}})
    mounts.append({"name": "kubelet-fs", "mountPath": KUBELET_FS, "readOnly": True})
    return {
        "metadata": {"labels": COMPONENT_LABELS},
        "spec": {
            "restartPolicy": "Never",
            # The scheduler places the pod (resources, priority) on exactly this node, as the
            # DaemonSet controller pins its pods: by node name, not by a label.
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [check.node]}]}
                        ]
                    }
                }
            },
            # The check must run on the node it is about, whatever keeps other workloads off
            # (storage nodes are often tainted); it only reads and ends within its deadline.
            "tolerations": [{"operator": "Exists"}],
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UNPRIVILEGED_USER,
                "runAsGroup": UNPRIVILEGED_USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": CONTAINER,
                    "image": check.image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": [
                        "sh",
                        "-c",
                        SCRIPT,
                        "preflight",
                        check.node,
                        HOST,
                        KUBELET_FS,
                        check.state_path,
                        *check.mountpoints,
                    ],
                    # The script's report becomes the termination message, which the
                    # provider prints when the Job fails: `pulumi up` shows it.
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "privileged": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "16Mi"},
                        "limits": {"cpu": "100m", "memory": "32Mi"},
                    },
                    "volumeMounts": mounts,
                }
            ],
            "volumes": volumes,
        },
    }


def job_name(check: NodeCheck) -> str:
    """``preflight-<node>-<digest of the pod template>``, at most 63 characters."""
    canonical = json.dumps(pod_template(check), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_LENGTH]
    room = MAX_JOB_NAME - len(JOB_NAME_PREFIX) - len(digest) - 1
    node = check.node[:room].rstrip("-.")
    return f"{JOB_NAME_PREFIX}{node}-{digest}"


def job_spec(check: NodeCheck) -> dict[str, Any]:
    return {
        # A failed check is an answer, not a flake: no retries.
        "backoffLimit": 0,
        "activeDeadlineSeconds": DEADLINE_SECONDS,
        "template": pod_template(check),
    }


@dataclass(frozen=True)
class PreflightLayerArgs:
    namespace: pulumi.Input[str]
    release_name: str
    checks: list[NodeCheck]
    node_reads: dict[str, k8s.core.v1.Node]


class PreflightLayer(pulumi.ComponentResource):
    jobs: dict[str, k8s.batch.v1.Job]

    def __init__(self, name: str, args: PreflightLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aisinfra:index:PreflightLayer", name, None, opts)
        self.jobs = {check.node: self._job(name, check, args) for check in args.checks}
        self.register_outputs({"jobs": {check.node: job_name(check) for check in args.checks}})

    def _job(self, name: str, check: NodeCheck, args: PreflightLayerArgs) -> k8s.batch.v1.Job:
        # The spec is the plain dict the name's digest is taken of, with the Kubernetes API's
        # own (camelCase) keys, which the SDK passes on as they are; its typed dicts spell
        # keys in snake_case, hence the ignore.
        return k8s.batch.v1.Job(  # type: ignore[call-overload]
            f"{name}-{check.node}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=job_name(check),
                namespace=args.namespace,
                labels={**COMPONENT_LABELS, "app.kubernetes.io/part-of": naming.fullname(args.release_name)},
                annotations={"pulumi.com/replaceUnready": "true"},
            ),
            spec=job_spec(check),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.node_reads[check.node]]),
        )
