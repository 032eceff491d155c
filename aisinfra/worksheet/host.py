"""Directories of a node's host that AIStore must never be given: the operating system's and
Kubernetes' own. One list, read by every worksheet key that names a host directory
(``statePath``, ``targets.mountpoints``, ``monitoring.*.path``). Standard library only."""

from __future__ import annotations

# A tree: the directory and everything below it, with why AIStore must stay out of it.
SYSTEM_TREES = {
    "/proc": "the kernel's process filesystem",
    "/sys": "the kernel's device and driver filesystem",
    "/dev": "the node's device files",
    "/run": "runtime state, emptied at every boot",
    "/var/run": "runtime state (a link to /run), emptied at every boot",
    "/tmp": "temporary files, emptied at boot on many systems",
    "/boot": "the node's kernels and boot loader",
    "/usr": "the operating system's programs and libraries",
    "/bin": "the operating system's programs",
    "/sbin": "the operating system's programs",
    "/lib": "the operating system's libraries",
    "/lib64": "the operating system's libraries",
    "/var/lib/kubelet": "the kubelet's pods, volumes and plugins",
    "/var/lib/containerd": "containerd's images and containers",
    "/var/lib/docker": "Docker's images and containers",
    "/var/lib/containers": "CRI-O's and Podman's images and containers",
    "/var/lib/etcd": "the Kubernetes control plane's database",
    "/var/log": "the node's and the pods' logs",
}
# Only the directory itself: what lies below may be AIStore's (the default state path is /etc/ais).
SYSTEM_DIRECTORIES = {
    "/etc": "the node's configuration",
    "/var": "the node's variable data",
    "/var/lib": "every service's state",
    "/home": "the users' home directories",
    "/root": "the administrator's home directory",
}
# Linux: a file name is at most 255 bytes (NAME_MAX), a path at most 4096 with its NUL (PATH_MAX).
MAX_NAME = 255
MAX_PATH = 4095


def system_directory(path: str) -> str | None:
    """Why ``path`` (absolute, normalized) is the host's own, or None if AIStore may have it."""
    if path in SYSTEM_DIRECTORIES:
        return f"is {SYSTEM_DIRECTORIES[path]}"
    for tree, what in SYSTEM_TREES.items():
        if path == tree:
            return f"is {what}"
        if path.startswith(f"{tree}/"):
            return f"lies in {tree}, {what}"
    return None
