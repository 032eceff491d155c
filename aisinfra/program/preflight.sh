# AIStore preflight: the worksheet's disk rules, checked on one target node before AIStore
# installs. POSIX sh (busybox or dash); it runs unchanged in the preflight Job and in the tests.
#
# Usage: sh preflight.sh NODE HOST KUBELET_FS STATE_PATH MOUNTPOINT...
#   NODE        the node's name, for the messages
#   HOST        where the node's directories are visible: /host in the Job, empty on the node
#   KUBELET_FS  a directory on the kubelet's own filesystem (an emptyDir volume in the Job)
#   STATE_PATH  the worksheet's statePath, as a node path
#   MOUNTPOINT  the node's mountpoints, as node paths
# Prints one line per problem, naming the node, the mountpoint, the rule and the fix, then a
# summary line (last, so that it survives when Kubernetes keeps only the log's tail as the
# termination message). Exits 1 when there is a problem, 0 when every mountpoint passes.

set -u
set -f # mountpoints are data, never glob patterns

node=$1 host=$2 kubelet_fs=$3 state_path=$4
shift 4
problems=0
checked=0
seen='' # "device fsid mountpoint" of each mount point checked so far, one per line

fail() {
    printf '%s %s: %s\n' "$node" "$1" "$2"
    problems=$((problems + 1))
}

device() { stat -c %d "$1"; }
fsid() { stat -f -c %i "$1"; }

# The state path may not exist yet: the chart creates it. Its filesystem is then the one of
# the nearest directory above it that exists.
state_dir=$state_path
while [ ! -d "$host$state_dir" ] && [ "$state_dir" != / ]; do
    state_dir=$(dirname "$state_dir")
done
state_device=$(device "$host$state_dir")
kubelet_device=$(device "$kubelet_fs")

for mountpoint in "$@"; do
    checked=$((checked + 1))
    path=$host$mountpoint
    parent=$(dirname "$mountpoint")
    if [ -L "$path" ]; then
        fail "$mountpoint" "is a symbolic link; list the directory its disk is mounted on"
        continue
    fi
    if [ ! -e "$path" ]; then
        fail "$mountpoint" "does not exist; create it and mount its disk there"
        continue
    fi
    if [ ! -d "$path" ]; then
        fail "$mountpoint" "is not a directory; mount a filesystem on a directory there"
        continue
    fi

    this_device=$(device "$path")
    this_fsid=$(fsid "$path")
    if [ "$this_device" = "$(device "$host$parent")" ]; then
        fail "$mountpoint" "is not a mount point (same filesystem as $parent): its disk is not mounted; mount it there"
    elif [ "$this_device" = "$state_device" ]; then
        fail "$mountpoint" "is on the filesystem of statePath $state_path; mount a disk of its own there"
    elif [ "$this_device" = "$kubelet_device" ]; then
        fail "$mountpoint" "is on the kubelet's filesystem (the node's system disk); mount a disk of its own there"
    else
        saved_ifs=$IFS
        IFS='
'
        for line in $seen; do
            other_device=${line%% *}
            rest=${line#* }
            other_fsid=${rest%% *}
            other=${rest#* }
            if [ "$this_device" = "$other_device" ] || [ "$this_fsid" = "$other_fsid" ]; then
                fail "$mountpoint" "is the same filesystem as $other (device $this_device, fsid $this_fsid); give each mountpoint a filesystem of its own"
                break
            fi
        done
        IFS=$saved_ifs
        seen="$seen$this_device $this_fsid $mountpoint
"
    fi

    # Emptiness holds whatever else is wrong: data under an unmounted mountpoint is on the
    # wrong disk, and mounting the disk over it would hide it.
    if [ -e "$path/.ais.vmd" ]; then
        continue # an AIStore mountpath already (its volume metadata): a re-run, or an added node
    fi
    if ! listing=$(ls -A "$path" 2>/dev/null); then
        fail "$mountpoint" "cannot be listed by uid $(id -u); make it readable (chmod a+rx $mountpoint)"
        continue
    fi
    others=$(printf '%s\n' "$listing" | grep -v -x -e 'lost+found' -e '')
    if [ -n "$others" ]; then
        count=$(printf '%s\n' "$others" | wc -l | tr -d ' ')
        first=$(printf '%s\n' "$others" | head -n 1)
        fail "$mountpoint" "is not empty ($count entries, e.g. '$first'); give AIStore an empty filesystem"
    fi
done

if [ "$problems" -gt 0 ]; then
    echo "preflight failed on node $node: $problems problems in $checked mountpoints"
    exit 1
fi
echo "preflight passed on node $node: $checked mountpoints"
