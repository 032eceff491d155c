"""preflight.sh, the script every preflight Job runs, driven by /bin/sh against real
directories of this machine: every rule, failing and passing.

Filesystems used: the one holding pytest's temporary directories (the root filesystem here),
and the machine's own mount points (/dev/shm, /proc, /sys), which sit on filesystems of their
own. ``/proc/self/root/dev/shm`` is /dev/shm reached by a second path -- a second mount point
of one filesystem, as a bind mount would make it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aisinfra.program import preflight

SCRIPT = Path(preflight.__file__).with_name("preflight.sh")
NODE = "cpu07"
SAME_SHM = "/proc/self/root/dev/shm"


# As in the Job's image, which has no locales: `ls -A` lists in byte order.
ENVIRONMENT = {**os.environ, "LC_ALL": "C"}


def run(
    *mountpoints: str | Path, kubelet_fs: str | Path, state_path: str | Path = "/etc/ais", host: str = ""
) -> tuple[int, list[str]]:
    """The script as the Job runs it, on this machine's directories (``host`` empty: the
    node's paths are this machine's paths)."""
    result = subprocess.run(
        ["/bin/sh", str(SCRIPT), NODE, host, str(kubelet_fs), str(state_path), *map(str, mountpoints)],
        capture_output=True,
        text=True,
        check=False,
        env=ENVIRONMENT,
    )
    assert result.stderr == ""
    return result.returncode, result.stdout.splitlines()


def device(path: str | Path) -> int:
    return os.stat(path).st_dev


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    """A directory on the filesystem of the tests' temporary directories."""
    return tmp_path


def empty_mount_points() -> list[str]:
    """Mount points of this machine that are empty directories on a filesystem other than
    the temporary directories' (e.g. /dev/shm on most machines)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        path = line.split()[4].replace("\\040", " ")
        try:
            if os.path.isdir(path) and not os.listdir(path) and device(path) != device(os.path.dirname(path)):
                found.append(path)
        except OSError:
            continue
    return found


def test_the_script_is_the_one_the_jobs_run() -> None:
    assert SCRIPT.read_text() == preflight.SCRIPT


def test_an_empty_mount_point_of_its_own_passes(disk: Path) -> None:
    candidates = empty_mount_points()
    assert candidates, "the test needs one empty mount point on this machine (such as an empty /dev/shm)"
    assert run(candidates[0], kubelet_fs=disk) == (0, [f"preflight passed on node {NODE}: 1 mountpoints"])


def test_a_missing_mountpoint_fails(disk: Path) -> None:
    assert run(disk / "sda", kubelet_fs=disk) == (
        1,
        [
            f"{NODE} {disk}/sda: does not exist; create it and mount its disk there",
            f"preflight failed on node {NODE}: 1 problems in 1 mountpoints",
        ],
    )


def test_a_symbolic_link_or_a_file_is_no_mountpoint(disk: Path) -> None:
    (disk / "sda").symlink_to("/dev/shm")
    (disk / "sdb").write_text("")
    code, lines = run(disk / "sda", disk / "sdb", kubelet_fs=disk)
    assert code == 1
    assert lines[:2] == [
        f"{NODE} {disk}/sda: is a symbolic link; list the directory its disk is mounted on",
        f"{NODE} {disk}/sdb: is not a directory; mount a filesystem on a directory there",
    ]


def test_a_directory_on_its_parents_filesystem_is_not_mounted(disk: Path) -> None:
    (disk / "sda").mkdir()
    assert run(disk / "sda", kubelet_fs="/sys") == (
        1,
        [
            f"{NODE} {disk}/sda: is not a mount point (same filesystem as {disk}): its disk is not mounted; "
            "mount it there",
            f"preflight failed on node {NODE}: 1 problems in 1 mountpoints",
        ],
    )


def test_mount_points_pass_the_mount_point_rule(disk: Path) -> None:
    _, lines = run("/dev/shm", "/proc", "/sys", kubelet_fs=disk)
    assert not [line for line in lines if "is not a mount point" in line]


def test_two_mountpoints_on_one_filesystem_fail(disk: Path) -> None:
    code, lines = run("/dev/shm", SAME_SHM, kubelet_fs=disk)
    assert code == 1
    shm = os.stat("/dev/shm")
    fsid = subprocess.run(["stat", "-f", "-c", "%i", "/dev/shm"], capture_output=True, text=True).stdout.strip()
    assert (
        f"{NODE} {SAME_SHM}: is the same filesystem as /dev/shm (device {shm.st_dev}, fsid {fsid}); "
        "give each mountpoint a filesystem of its own"
    ) in lines
    assert not [line for line in lines if line.startswith(f"{NODE} /dev/shm: is the same")]


def test_mountpoints_on_filesystems_of_their_own_pass_the_shared_filesystem_rule(disk: Path) -> None:
    assert len({device(path) for path in ("/dev/shm", "/proc", "/sys")}) == 3
    _, lines = run("/dev/shm", "/proc", "/sys", kubelet_fs=disk)
    assert not [line for line in lines if "same filesystem" in line]


def test_a_mountpoint_on_the_state_paths_filesystem_fails(disk: Path) -> None:
    # The state path does not exist yet: its filesystem is that of /dev/shm, where the chart would create it.
    state_path = f"/dev/shm/aisinfra-test-{os.getpid()}/etc/ais"
    code, lines = run("/dev/shm", state_path=state_path, kubelet_fs=disk)
    assert code == 1
    assert lines[0] == f"{NODE} /dev/shm: is on the filesystem of statePath {state_path}; mount a disk of its own there"
    assert not Path(state_path).parent.parent.exists()  # the check only looks


def test_a_mountpoint_on_the_kubelets_filesystem_fails(disk: Path) -> None:
    code, lines = run("/dev/shm", kubelet_fs="/dev/shm", state_path=disk)
    assert code == 1
    assert lines[0] == (
        f"{NODE} /dev/shm: is on the kubelet's filesystem (the node's system disk); mount a disk of its own there"
    )


def test_a_mountpoint_off_the_state_path_and_kubelet_filesystems_passes_that_rule(disk: Path) -> None:
    _, lines = run("/dev/shm", "/proc", kubelet_fs=disk, state_path=disk / "etc" / "ais")
    assert not [line for line in lines if "statePath" in line or "kubelet" in line]


def test_only_lost_found_or_an_aistore_mountpath_counts_as_empty(disk: Path) -> None:
    for name in ("sda", "sdb", "sdc", "sdd"):
        (disk / name).mkdir()
    (disk / "sdb" / "lost+found").mkdir()
    (disk / "sdc" / ".ais.vmd").write_text("{}")  # AIStore's volume metadata: a deployed mountpath
    (disk / "sdc" / "objects").mkdir()
    (disk / "sdd" / "lost+found").mkdir()
    (disk / "sdd" / "old data.tar").write_text("")
    (disk / "sdd" / ".hidden").write_text("")
    _, lines = run(*(disk / name for name in ("sda", "sdb", "sdc", "sdd")), kubelet_fs="/sys")
    assert [line for line in lines if "is not empty" in line] == [
        f"{NODE} {disk}/sdd: is not empty (2 entries, e.g. '.hidden'); give AIStore an empty filesystem"
    ]


@pytest.fixture
def searchable_dir() -> Iterator[Path]:
    """A temporary directory that other users can reach (pytest's own is private)."""
    path = Path(tempfile.mkdtemp(prefix="aisinfra-preflight-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_a_mountpoint_the_check_cannot_list_fails(searchable_dir: Path) -> None:
    """The Job runs as uid 65534; a mountpoint it cannot list cannot be shown empty."""
    hidden = searchable_dir / "sda"
    hidden.mkdir(mode=0o000)
    command = ["/bin/sh", str(SCRIPT), NODE, "", "/sys", "/etc/ais", str(hidden)]
    uid = os.geteuid()
    if uid == 0:  # root lists anything: run as the Job's user
        uid = preflight.UNPRIVILEGED_USER
        command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *command]
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=ENVIRONMENT)
    assert result.returncode == 1
    assert f"{NODE} {hidden}: cannot be listed by uid {uid}; make it readable (chmod a+rx {hidden})" in (
        result.stdout.splitlines()
    )


def test_the_host_prefix_is_where_the_node_paths_are_looked_up(tmp_path: Path) -> None:
    """In the Job the node's directories appear under /host; messages name the node's paths."""
    (tmp_path / "ais" / "sda").mkdir(parents=True)
    assert run("/ais/sda", "/ais/sdb", kubelet_fs="/sys", host=str(tmp_path)) == (
        1,
        [
            f"{NODE} /ais/sda: is not a mount point (same filesystem as /ais): its disk is not mounted; mount it there",
            f"{NODE} /ais/sdb: does not exist; create it and mount its disk there",
            f"preflight failed on node {NODE}: 2 problems in 2 mountpoints",
        ],
    )
