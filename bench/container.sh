#!/usr/bin/env bash
# Times a cold build as root in an unprivileged podman container against the same build as root on the host,
# paired in one run, and prints the ratio with its target next to it (information only: it never fails on a
# missed target).
#
#   lkpkg pkg build of examples/hello for this host's architecture, fresh cache and state dir each run (the
#   fixture import is not timed):
#     as root on the host, vs as root in `podman run` with podman's default security (no --privileged, default
#     capabilities, seccomp profile and masked /proc: lkpkg builds in a user namespace of its own, RUN steps
#     without a process sandbox); the container's time is measured inside it, so podman's start-up is left out
#   the two alternate, run after run; medians of each and of the per-pair ratios are printed.
#
# usage: bench/container.sh [-n RUNS] [--native] [--keep]
#   -n RUNS   timed runs of each side (default 5)
#   --native  the container's state dir on an overlay mount, as a CI job's root file system is: lkpkg then uses
#             the copying native snapshotter (default: a plain directory, as a volume gives, with overlayfs)
#   --keep    keep the temporary directory, and print it
# environment:
#   LKPKG  lkpkg binary to time (default: bin/lkpkg of this repository; run 'make build' first)
#
# Needs root, podman and runc (.ci/deps --test installs them), git and ldd.
set -euo pipefail

die() { echo "container.sh: $*" >&2; exit 1; }

runs=5 keep=0 native=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || die "-n needs a number"; runs=$2; shift 2 ;;
	--native) native=1; shift ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
case $runs in ''|*[!0-9]*|0) die "-n wants a positive number, not '$runs'" ;; esac
[ "$(id -u)" = 0 ] || die "must run as root (podman's root configuration; try: sudo $0 $*)"
for tool in git podman runc ldd jq; do command -v $tool >/dev/null || die "$tool is not installed"; done

root=$(cd "$(dirname "$0")/.." && pwd)
lkpkg=${LKPKG:-$root/bin/lkpkg}
[ -x "$lkpkg" ] || die "no lkpkg binary at $lkpkg: run 'make build' first, or set LKPKG"
case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac

work=$(mktemp -d /tmp/lkpkg-ctr-bench.XXXXXX) # short: podman refuses a runroot longer than 50 characters
cleanup() {
	local rc=$?
	if [ $keep = 1 ]; then
		echo "container.sh: kept $work" >&2
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# podman here: no raised ulimits (this VM refuses them), runc (crun refuses hybrid cgroups), no journald.
printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\n' >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf

# The container's root file system: the bundled busybox, with lkpkg, git and their libraries.
layout=$root/examples/busybox-oci
blob() { echo "$layout/blobs/${1/://}"; }
index=$(jq -r '.manifests[0].digest' "$layout/index.json")
manifest=$(jq -r --arg a "$arch" '.manifests[] | select(.platform.architecture == $a) | .digest' "$(blob "$index")")
rootfs=$work/rootfs
mkdir -p "$rootfs"
for layer in $(jq -r '.layers[].digest' "$(blob "$manifest")"); do tar -C "$rootfs" -xzf "$(blob "$layer")"; done
for program in "$lkpkg" "$(command -v git)"; do
	for f in "$program" $(ldd "$program" | grep -o '/[^ ]*'); do
		mkdir -p "$rootfs$(dirname "$f")" && cp -L "$f" "$rootfs$f"
	done
done
mkdir -p "$rootfs/usr/local/bin" && mv "$rootfs$lkpkg" "$rootfs/usr/local/bin/lkpkg"
chmod 1777 "$rootfs/tmp"
tar -C "$layout" -cf "$work/busybox.tar" .

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@lkpkg.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@lkpkg.invalid
mkdir -p "$work/repo"
cp -r "$root/examples/hello" "$work/repo/hello"
git -C "$work/repo" init -q && git -C "$work/repo" add -A && git -C "$work/repo" commit -qm hello

now_us() { echo $(($(date +%s%N) / 1000)); }

# one SIDE N: a fresh cache and state dir, the fixture imported, then the timed build; prints microseconds.
one() {
	local side=$1 n=$2 t0 t1 dir=$work/$1-$2
	mkdir -p "$dir/cache" "$dir/state"
	if [ "$side" = host ]; then
		"$lkpkg" --cache "$dir/cache" cache import "$work/busybox.tar" >/dev/null
		t0=$(now_us)
		(cd "$work/repo" && "$lkpkg" --cache "$dir/cache" pkg build --state-dir "$dir/state" \
			--progress quiet --platforms "linux/$arch" hello >/dev/null 2>"$work/err") ||
			die "host build failed: $(tail -n 5 "$work/err")"
		t1=$(now_us)
	else
		local state=(-v "$dir/state:/var/lib/lkpkg")
		[ $native = 0 ] || state=(-v "$dir/state:/var/lib/lkpkg:O")
		# /proc/uptime, read inside, times the build alone (busybox's date has no nanoseconds).
		podman --root "$work/podman" --runroot "$work/run" --tmpdir "$work/tmp" run --rm \
			-v "$work/repo:/repo" -v "$work/busybox.tar:/busybox.tar:ro" -v "$dir/cache:/cache" "${state[@]}" \
			-w /repo -e GIT_CONFIG_COUNT=1 -e GIT_CONFIG_KEY_0=safe.directory -e GIT_CONFIG_VALUE_0='*' \
			--rootfs "$rootfs" sh -c "lkpkg --cache /cache cache import /busybox.tar >/dev/null &&
				read t0 rest </proc/uptime &&
				lkpkg --cache /cache pkg build --progress quiet --platforms linux/$arch hello >/dev/null &&
				read t1 rest </proc/uptime && echo \$t0 \$t1" >"$work/times" 2>"$work/err" ||
			die "container build failed: $(tail -n 5 "$work/err")"
		read -r t0 t1 <"$work/times"
		t0=$(echo "$t0" | tr -d .)0000 t1=$(echo "$t1" | tr -d .)0000 # centiseconds to microseconds
	fi
	rm -rf "$dir"
	echo $((t1 - t0))
}

median() { sort -n | sed -n "$((($runs + 1) / 2))p"; }
one host 0 >/dev/null # warm-up: page cache, binfmt, the binary
one container 0 >/dev/null
: >"$work/host.txt" && : >"$work/container.txt" && : >"$work/ratio.txt"
for n in $(seq 1 "$runs"); do
	h=$(one host "$n")
	c=$(one container "$n")
	echo "$h" >>"$work/host.txt"
	echo "$c" >>"$work/container.txt"
	echo $((c * 1000 / h)) >>"$work/ratio.txt"
	printf 'run %d: host %d ms, container %d ms\n' "$n" $((h / 1000)) $((c / 1000))
done
h=$(median <"$work/host.txt") c=$(median <"$work/container.txt") q=$(median <"$work/ratio.txt")
kind=overlayfs
[ $native = 0 ] || kind=native
printf 'cold build of examples/hello (linux/%s), median of %d: root on the host %d ms, root in a podman container (%s snapshots) %d ms\n' \
	"$arch" "$runs" $((h / 1000)) "$kind" $((c / 1000))
printf 'container/host: ratio of medians %d.%03d, median of paired ratios %d.%03d (target <= 1.5)\n' \
	$((c / h)) $((c * 1000 / h % 1000)) $((q / 1000)) $((q % 1000))
