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

import functools
import hashlib
import json
import posixpath
from dataclasses import dataclass, replace
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


def _host_volume(name: str, path: str, kind: str) -> tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]:
    volume = k8s.core.v1.VolumeArgs(name=name, host_path=k8s.core.v1.HostPathVolumeSourceArgs(path=path, type=kind))
    mount = k8s.core.v1.VolumeMountArgs(name=name, mount_path=HOST + path.rstrip("/"), read_only=True)
    return volume, mount


def pod_template(check: NodeCheck) -> k8s.core.v1.PodTemplateSpecArgs:
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
    volumes.append(k8s.core.v1.VolumeArgs(name="kubelet-fs", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()))
    mounts.append(k8s.core.v1.VolumeMountArgs(name="kubelet-fs", mount_path=KUBELET_FS, read_only=True))
    return k8s.core.v1.PodTemplateSpecArgs(
        metadata=k8s.meta.v1.ObjectMetaArgs(labels=COMPONENT_LABELS),
        spec=k8s.core.v1.PodSpecArgs(
            restart_policy="Never",
            # The scheduler places the pod (resources, priority) on exactly this node, as the
            # DaemonSet controller pins its pods: by node name, not by a label.
            affinity=k8s.core.v1.AffinityArgs(
                node_affinity=k8s.core.v1.NodeAffinityArgs(
                    required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                        node_selector_terms=[
                            k8s.core.v1.NodeSelectorTermArgs(
                                match_fields=[
                                    k8s.core.v1.NodeSelectorRequirementArgs(
                                        key="metadata.name", operator="In", values=[check.node]
                                    )
                                ]
                            )
                        ]
                    )
                )
            ),
            # The check must run on the node it is about, whatever keeps other workloads off
            # (storage nodes are often tainted); it only reads and ends within its deadline.
            tolerations=[k8s.core.v1.TolerationArgs(operator="Exists")],
            automount_service_account_token=False,
            enable_service_links=False,
            security_context=k8s.core.v1.PodSecurityContextArgs(
                run_as_non_root=True,
                run_as_user=UNPRIVILEGED_USER,
                run_as_group=UNPRIVILEGED_USER,
                seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
            ),
            containers=[
                k8s.core.v1.ContainerArgs(
                    name=CONTAINER,
                    image=check.image,
                    image_pull_policy="IfNotPresent",
                    command=[
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
                    termination_message_policy="FallbackToLogsOnError",
                    security_context=k8s.core.v1.SecurityContextArgs(
                        allow_privilege_escalation=False,
                        privileged=False,
                        read_only_root_filesystem=True,
                        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                    ),
                    resources=k8s.core.v1.ResourceRequirementsArgs(
                        requests={"cpu": "10m", "memory": "16Mi"},
                        limits={"cpu": "100m", "memory": "32Mi"},
                    ),
                    volume_mounts=mounts,
                )
            ],
            volumes=volumes,
        ),
    )


def job_name(check: NodeCheck) -> str:
    """``preflight-<node>-<digest of the pod template>``, at most 63 characters."""
    digest = hashlib.sha256(template_as_sent(check).encode()).hexdigest()[:DIGEST_LENGTH]
    room = MAX_JOB_NAME - len(JOB_NAME_PREFIX) - len(digest) - 1
    node = check.node[:room].rstrip("-.")
    return f"{JOB_NAME_PREFIX}{node}-{digest}"


# Stands for the node in a pod template written once for every node of the same checks. JSON
# writes a NUL as the escape below, and a node's name (a DNS subdomain) as it is.
NODE_STAND_IN = "\0node\0"
NODE_STAND_IN_AS_JSON = json.dumps(NODE_STAND_IN)[1:-1]


def template_as_sent(check: NodeCheck) -> str:
    """The pod template as the Kubernetes API spells it (camelCase keys, unset fields left out),
    as canonical JSON: the form the Job names of earlier releases were digested from.

    Written through the SDK's ``to_json`` once for all nodes with the same checks, the node's
    name then written in where the stand-in is (a millisecond less per node: a second at 2000
    nodes). That is the same text whenever the name needs no escaping in JSON and nothing else
    in the template holds a NUL; otherwise the template is written for this node alone."""
    shared = (*check.mountpoints, check.state_path, check.image, SCRIPT)
    if json.dumps(check.node) != f'"{check.node}"' or any("\0" in text for text in shared):
        return _canonical_template(check)
    return _template_of_every_node(replace(check, node=NODE_STAND_IN)).replace(NODE_STAND_IN_AS_JSON, check.node)


@functools.cache
def _template_of_every_node(check: NodeCheck) -> str:
    """One per set of checks with the stand-in for the node (a worksheet has one)."""
    return _canonical_template(check)


def _canonical_template(check: NodeCheck) -> str:
    as_sent = json.loads(pulumi.runtime.to_json(pod_template(check)))
    return json.dumps(as_sent, sort_keys=True, separators=(",", ":"))


def job_spec(check: NodeCheck) -> k8s.batch.v1.JobSpecArgs:
    return k8s.batch.v1.JobSpecArgs(
        # A failed check is an answer, not a flake: no retries.
        backoff_limit=0,
        active_deadline_seconds=DEADLINE_SECONDS,
        template=pod_template(check),
    )


def job_metadata(check: NodeCheck, namespace: pulumi.Input[str], release_name: str) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(
        name=job_name(check),
        namespace=namespace,
        labels={**COMPONENT_LABELS, "app.kubernetes.io/part-of": naming.fullname(release_name)},
        annotations={"pulumi.com/replaceUnready": "true"},
    )


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
        # A Job's name digests its whole pod template: worked out once per node.
        metadata = {check.node: job_metadata(check, args.namespace, args.release_name) for check in args.checks}
        self.jobs = {check.node: self._job(name, check, metadata[check.node], args) for check in args.checks}
        self.register_outputs({"jobs": {node: job.name for node, job in metadata.items()}})

    def _job(
        self, name: str, check: NodeCheck, metadata: k8s.meta.v1.ObjectMetaArgs, args: PreflightLayerArgs
    ) -> k8s.batch.v1.Job:
        return k8s.batch.v1.Job(
            f"{name}-{check.node}",
            metadata=metadata,
            spec=job_spec(check),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.node_reads[check.node]]),
        )
