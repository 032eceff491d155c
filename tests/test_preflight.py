"""The preflight layer under Pulumi's mock runtime: one check Job per target node, pinned to
it, inspecting exactly its mountpoints through read-only host mounts, with the Release
waiting for every Job -- and the pure rules that name the Jobs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pulumi
import pytest
import yaml

from aisinfra.program import preflight
from aisinfra.review.diff import diff_renders
from aisinfra.review.render import (
    PREFLIGHT_JOB,
    Rendering,
    resource_documents,
    run_program,
    summary_text,
    write_outputs,
)
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

CPUS = [f"cpu{number:02d}" for number in range(1, 13)]
MOUNTPOINTS = [f"/ais/sd{letter}" for letter in "abcdefghij"]
TARGETS = WORKSHEET_EXAMPLE["aisinfra:targets"]
SCRIPT = (Path(preflight.__file__).with_name("preflight.sh")).read_text()
CLUSTER_URN = "urn:pulumi:test::aisinfra::pulumi:pulumi:Stack$aisinfra:index:AisCluster::aistore"
LAYER_URN = "urn:pulumi:test::aisinfra::aisinfra:index:AisCluster$aisinfra:index:PreflightLayer::aistore-preflight"
SKIPPED = "skipped (preflight.enabled: false): the target nodes' disks are not checked before AIStore installs"


@pytest.fixture
def dev(render_stack: Any) -> Rendering:
    return render_stack(WORKSHEET_EXAMPLE)


def jobs(rendering: Rendering) -> dict[str, Any]:
    """Each Job by the node its affinity pins it to."""
    by_node = {}
    for job in rendering.of_type(PREFLIGHT_JOB):
        node = job.name.removeprefix("aistore-preflight-")
        affinity = job.inputs["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
        (term,) = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert term == {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
        by_node[node] = job
    return by_node


def expected_pod_spec(node: str, mountpoints: list[str], state_path: str = "/etc/ais") -> dict[str, Any]:
    return {
        "restartPolicy": "Never",
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
                    ]
                }
            }
        },
        "tolerations": [{"operator": "Exists"}],
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "runAsGroup": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "check",
                "image": "busybox:1.36.1",
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", SCRIPT, "preflight", node, "/host", "/kubelet-fs", state_path, *mountpoints],
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
                "volumeMounts": [
                    {"name": "mountpoints-0", "mountPath": "/host/ais", "readOnly": True},
                    {"name": "state-path", "mountPath": "/host/etc/ais", "readOnly": True},
                    {"name": "kubelet-fs", "mountPath": "/kubelet-fs", "readOnly": True},
                ],
            }
        ],
        "volumes": [
            {"name": "mountpoints-0", "hostPath": {"path": "/ais", "type": "Directory"}},
            {"name": "state-path", "hostPath": {"path": "/etc/ais", "type": "DirectoryOrCreate"}},
            {"name": "kubelet-fs", "emptyDir": {}},
        ],
    }


def test_twelve_jobs_one_per_target_node_each_pinned_and_mounting_its_mountpoints_read_only(dev: Rendering) -> None:
    by_node = jobs(dev)
    assert list(by_node) == CPUS
    layer = dev.by_name("aistore-preflight")
    assert (layer.type, layer.urn, layer.parent) == ("aisinfra:index:PreflightLayer", LAYER_URN, CLUSTER_URN)
    names = set()
    for node, job in by_node.items():
        assert job.parent == LAYER_URN
        assert not job.protect  # a finished check holds nothing: destroy removes it
        name = job.inputs["metadata"]["name"]
        assert re.fullmatch(rf"preflight-{node}-[0-9a-f]{{10}}", name)
        names.add(name)
        assert job.inputs == {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "namespace": "ais",
                "labels": {
                    "app.kubernetes.io/name": "aisinfra-preflight",
                    "app.kubernetes.io/component": "preflight",
                    "app.kubernetes.io/part-of": "demo-ais",
                },
                # A failed check is replaced by the next `pulumi up`, not waited on again.
                "annotations": {"pulumi.com/replaceUnready": "true"},
            },
            "spec": {
                "backoffLimit": 0,
                "activeDeadlineSeconds": 180,
                "template": {
                    "metadata": {
                        "labels": {
                            "app.kubernetes.io/name": "aisinfra-preflight",
                            "app.kubernetes.io/component": "preflight",
                        }
                    },
                    "spec": expected_pod_spec(node, MOUNTPOINTS),
                },
            },
        }
        # Created in the namespace, once the read of its node proved the node exists.
        assert job.dependencies == sorted(
            [dev.by_name("aistore-namespace").urn, dev.by_name(f"aistore-node-{node}").urn]
        )
    assert len(names) == 12


def test_every_host_mount_is_read_only_and_no_container_is_privileged(dev: Rendering) -> None:
    for job in dev.of_type(PREFLIGHT_JOB):
        pod = job.inputs["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert all(mount["readOnly"] is True for mount in container["volumeMounts"])
        host_paths = [volume["hostPath"]["path"] for volume in pod["volumes"] if "hostPath" in volume]
        assert host_paths == ["/ais", "/etc/ais"]  # the mountpoints' directory and the state path, nothing else
        assert "hostPID" not in pod and "hostNetwork" not in pod and "serviceAccountName" not in pod


def test_the_release_waits_for_all_twelve_checks(dev: Rendering) -> None:
    job_urns = {job.urn for job in dev.of_type(PREFLIGHT_JOB)}
    assert len(job_urns) == 12
    assert job_urns <= set(dev.release().dependencies)


def test_adding_a_node_adds_exactly_one_job_and_keeps_the_others(make_stack: Any) -> None:
    fixed_count = {**TARGETS, "initialCount": 12}
    before = run_program(make_stack(worksheet(targets={**fixed_count, "nodes": ["cpu{01..12}"]})))
    after = run_program(make_stack(worksheet(targets={**fixed_count, "nodes": ["cpu{01..13}"]})))
    changes = diff_renders(resource_documents(before), resource_documents(after))
    assert [line for line in changes if "batch/v1:Job" in line] == [
        "+ kubernetes:batch/v1:Job  aistore-preflight-cpu13"
    ]
    assert {node: job.inputs for node, job in jobs(before).items()} == {
        node: job.inputs for node, job in jobs(after).items() if node != "cpu13"
    }
    assert jobs(after)["cpu13"].inputs["spec"]["template"]["spec"] == expected_pod_spec("cpu13", MOUNTPOINTS)
    assert jobs(after)["cpu13"].urn in after.release().dependencies


@pytest.mark.parametrize(
    "change",
    [
        {"targets": {**TARGETS, "mountpoints": ["/ais/sd[a-k]"]}},
        {"statePath": "/var/lib/ais"},
        {"preflight": {"image": "registry.example.com/mirror/busybox:1.36.1"}},
    ],
    ids=["a mountpoint more", "another state path", "another image"],
)
def test_a_change_to_what_is_checked_runs_every_check_again(render_stack: Any, dev: Rendering, change: Any) -> None:
    """A new name is a new Job: Pulumi replaces each (Job templates cannot change in place)."""
    changed = jobs(render_stack(worksheet(**change)))
    for node, job in jobs(dev).items():
        assert changed[node].inputs["metadata"]["name"] != job.inputs["metadata"]["name"]


def test_a_change_to_what_is_not_checked_keeps_every_check(render_stack: Any, dev: Rendering) -> None:
    changed = render_stack(worksheet(chart={"path": "./charts", "values": {"aiscluster": {"skipHostIP": True}}}))
    assert {node: job.inputs for node, job in jobs(changed).items()} == {
        node: job.inputs for node, job in jobs(dev).items()
    }


def test_a_sites_own_image_runs_the_check(render_stack: Any) -> None:
    image = "registry.example.com:5000/mirror/busybox:1.36.1"
    for job in render_stack(worksheet(preflight={"image": image})).of_type(PREFLIGHT_JOB):
        assert job.inputs["spec"]["template"]["spec"]["containers"][0]["image"] == image


def test_turned_off_nothing_is_checked_and_render_and_outputs_say_so(render_stack: Any, tmp_path: Path) -> None:
    rendering = render_stack(worksheet(preflight={"enabled": False}))
    assert rendering.of_type(PREFLIGHT_JOB) == []
    assert [r.name for r in rendering.resources if r.type == "aisinfra:index:PreflightLayer"] == []
    assert rendering.outputs["preflight"] == SKIPPED
    assert f"\nPreflight: {SKIPPED}\n" in summary_text(rendering)
    write_outputs(rendering, tmp_path)
    assert "Job" not in [document["kind"] for document in yaml.safe_load_all((tmp_path / "manifests.yaml").read_text())]


def test_outputs_and_render_say_what_is_checked_and_how_to_find_the_jobs(dev: Rendering) -> None:
    selector = "app.kubernetes.io/name=aisinfra-preflight"
    assert dev.outputs["preflight"] == {"image": "busybox:1.36.1", "jobs": 12, "selector": selector}
    for job in dev.of_type(PREFLIGHT_JOB):  # the selector finds every Job, and their pods
        assert job.inputs["metadata"]["labels"]["app.kubernetes.io/name"] == "aisinfra-preflight"
        assert job.inputs["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "aisinfra-preflight"
    summary = summary_text(dev)
    assert (
        f"\nPreflight: 12 Jobs, one per target node, image busybox:1.36.1 (kubectl -n ais get jobs -l {selector})\n"
    ) in summary
    assert "create kubernetes:batch/v1:Job  aistore-preflight-cpu{01..12}  (12)" in summary


def test_the_manifest_review_holds_the_jobs_as_applied(dev: Rendering, tmp_path: Path) -> None:
    write_outputs(dev, tmp_path)
    documents = [d for d in yaml.safe_load_all((tmp_path / "manifests.yaml").read_text()) if d["kind"] == "Job"]
    assert [document["metadata"]["name"] for document in documents] == [
        job.inputs["metadata"]["name"] for job in jobs(dev).values()
    ]
    assert documents[0] == jobs(dev)["cpu01"].inputs


def test_mountpoints_directly_under_the_root_mount_the_root_read_only(render_stack: Any) -> None:
    rendering = render_stack(worksheet(targets={**TARGETS, "mountpoints": ["/data{1..2}"]}))
    pod = jobs(rendering)["cpu01"].inputs["spec"]["template"]["spec"]
    assert pod["volumes"][0] == {"name": "mountpoints-0", "hostPath": {"path": "/", "type": "Directory"}}
    assert pod["containers"][0]["volumeMounts"][0] == {"name": "mountpoints-0", "mountPath": "/host", "readOnly": True}


# --- the pure rules --------------------------------------------------------------------------


def check(node: str = "cpu01", mountpoints: tuple[str, ...] = ("/ais/sda",)) -> preflight.NodeCheck:
    return preflight.NodeCheck(node=node, mountpoints=mountpoints, state_path="/etc/ais", image="busybox:1.36.1")


def test_mountpoint_parents_once_each_in_order() -> None:
    assert preflight.mountpoint_parents(("/ais/sdb", "/data", "/ais/sda", "/mnt/x/y")) == ["/ais", "/", "/mnt/x"]


def test_a_long_node_name_still_makes_a_job_name_of_at_most_63_characters() -> None:
    long_node = "storage-node-0123456789." + "a" * 60 + ".example.com"
    name = preflight.job_name(check(node=long_node))
    assert len(name) == 63
    assert re.fullmatch(r"preflight-storage-node-0123456789\.a{18}-[0-9a-f]{10}", name)
    # a cut that would end on a dot or a dash does not
    assert re.fullmatch(r"preflight-abc-[0-9a-f]{10}", preflight.job_name(check(node="abc" + "-" * 60)))


def test_the_job_name_of_a_check_stays_what_earlier_releases_made() -> None:
    """A new name replaces every node's Job at the next `pulumi up`. This one is what the pod template
    written as a plain dict (before 111b9cf) gave; the typed args must digest to the same."""
    assert preflight.job_name(check()) == "preflight-cpu01-713fc91b61"


def test_the_job_name_follows_the_check_and_only_the_check() -> None:
    assert preflight.job_name(check()) == preflight.job_name(check())
    assert preflight.job_name(check()) != preflight.job_name(check(mountpoints=("/ais/sda", "/ais/sdb")))
    assert preflight.job_name(check(node="cpu01")).removeprefix("preflight-cpu01-") != (
        preflight.job_name(check(node="cpu02")).removeprefix("preflight-cpu02-")
    )


@pytest.mark.parametrize(
    ("node", "mountpoints"),
    [
        ("cpu01", ("/ais/sda",)),
        ("storage-node-0123456789." + "a" * 60 + ".example.com", ("/ais/sda", "/data/sdb")),
        ("n", ()),
        ("nodé", ("/ais/sda",)),  # JSON escapes the name: written for the node alone
        ('a"b', ("/ais/sda",)),
        ("cpu01", ("/ais/sd\0node\0",)),  # the stand-in elsewhere in the template: written for the node alone
    ],
)
def test_the_template_written_once_for_all_nodes_is_each_nodes_own(node: str, mountpoints: tuple[str, ...]) -> None:
    """The digest's input, worked out once per set of checks with the node written in, is what
    writing the node's own template through the SDK gives."""
    one = check(node=node, mountpoints=mountpoints)
    as_sent = json.loads(pulumi.runtime.to_json(preflight.pod_template(one)))
    own = json.dumps(as_sent, sort_keys=True, separators=(",", ":"))
    assert preflight.template_as_sent(one) == own
    assert preflight.template_as_sent(check(node="other", mountpoints=mountpoints)) != own


def test_the_pod_template_is_written_once_for_all_nodes_with_the_same_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the SDK's to_json a template costs a millisecond: for 2000 nodes with the same
    checks it is written once, with the stand-in, and each node's name put in."""
    written = []
    template = preflight.pod_template

    def counting(one: preflight.NodeCheck) -> Any:
        written.append(one.node)
        return template(one)

    monkeypatch.setattr(preflight, "pod_template", counting)
    mountpoints = ("/ais/written-once-a", "/ais/written-once-b")  # checks no other test asks about
    names = [preflight.job_name(check(node=f"cpu{number}", mountpoints=mountpoints)) for number in range(5)]
    assert written == [preflight.NODE_STAND_IN]
    assert len(set(names)) == 5


def test_the_jobs_are_valid_kubernetes_objects(dev: Rendering) -> None:
    """Strictly valid batch/v1 Jobs for the oldest and the default Kubernetes version the
    worksheet names: no unknown or misspelt field reaches the API server."""
    for job in dev.of_type(PREFLIGHT_JOB):
        for version in ("1.25", "1.30"):
            kubernetes_validate.validate(job.inputs, version, strict=True)


def test_the_layer_keeps_each_nodes_job_name_in_the_state(dev: Rendering) -> None:
    assert dev.by_name("aistore-preflight").outputs == {
        "jobs": {node: job.inputs["metadata"]["name"] for node, job in jobs(dev).items()}
    }


def test_each_host_directory_is_mounted_at_its_own_path_under_the_host_mount() -> None:
    """Only a trailing slash is dropped (of the root): a directory's last letter is kept."""
    template = preflight.pod_template(
        preflight.NodeCheck(node="cpu01", mountpoints=("/mnt/X/sda",), state_path="/srv/aisX", image="busybox:1.36.1")
    )
    pod = json.loads(pulumi.runtime.to_json(template))["spec"]
    assert [
        (volume["hostPath"]["path"], mount["mountPath"])
        for volume, mount in zip(pod["volumes"][:2], pod["containers"][0]["volumeMounts"][:2], strict=True)
    ] == [("/mnt/X", "/host/mnt/X"), ("/srv/aisX", "/host/srv/aisX")]
