#!/usr/bin/env bash
# Times a rootless build against the same build as root, paired in one run, and prints the ratio with its
# target next to it (information only: it never fails on a missed target).
#
#   lkpkg pkg build of examples/hello for this host's architecture, fresh cache and state dir each run
#   (the fixture import is not timed):
#     as root, vs as an unprivileged user (lkpkg re-executes itself in a user namespace of the user's
#     subordinate ids; overlayfs in the namespace when the kernel allows it)
#   the two alternate, run after run; medians of each and of the per-pair ratios are printed.
#
# usage: bench/rootless.sh [-n RUNS] [--keep]
#   -n RUNS  timed runs of each side (default 5)
#   --keep   keep the temporary directory and user, and print them
# environment:
#   LKPKG  lkpkg binary to time (default: bin/lkpkg of this repository; run 'make build' first)
#
# Needs root: it creates a temporary user (useradd, usermod --add-subuids/--add-subgids; removed at the
# end) to build as, and runuser, git and newuidmap/newgidmap (.ci/deps installs uidmap).
set -euo pipefail

die() { echo "rootless.sh: $*" >&2; exit 1; }

runs=5 keep=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || die "-n needs a number"; runs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
case $runs in ''|*[!0-9]*|0) die "-n wants a positive number, not '$runs'" ;; esac
[ "$(id -u)" = 0 ] || die "must run as root: it creates the unprivileged user it builds as (try: sudo $0 $*)"
for tool in git runuser useradd newuidmap; do command -v $tool >/dev/null || die "$tool is not installed"; done

root=$(cd "$(dirname "$0")/.." && pwd)
lkpkg=${LKPKG:-$root/bin/lkpkg}
[ -x "$lkpkg" ] || die "no lkpkg binary at $lkpkg: run 'make build' first, or set LKPKG"
case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac

work=$(mktemp -d /tmp/lkpkg-rootless-bench.XXXXXX)
chmod 0755 "$work"
user=lkpkgbench-$$
cleanup() {
	local rc=$?
	if [ $keep = 1 ]; then
		echo "rootless.sh: kept $work and user $user" >&2
	else
		# Files of the namespace's other ids are not the user's to delete: root removes them.
		userdel -r -f "$user" 2>/dev/null || true
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

useradd -m -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$user"
touch /etc/subuid /etc/subgid # usermod refuses to add ranges to a missing file
usermod --add-subuids 500000000-500065535 --add-subgids 500000000-500065535 "$user"
home=$(getent passwd "$user" | cut -d: -f6)
install -m 0755 "$lkpkg" "$work/lkpkg"
tar -C "$root/examples/busybox-oci" -cf "$work/busybox.tar" .
chmod 0644 "$work/busybox.tar"

# The same package in a repository of each side's own (git refuses repositories owned by someone else);
# identical trees give identical tags.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@lkpkg.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@lkpkg.invalid
mkdir -p "$work/repo"
cp -r "$root/examples/hello" "$work/repo/hello"
git -C "$work/repo" init -q && git -C "$work/repo" add -A && git -C "$work/repo" commit -qm hello
cp -a "$work/repo" "$home/repo" && chown -R "$user:" "$home/repo"

as_user() {
	runuser -u "$user" -- env -i HOME="$home" USER="$user" PATH=/usr/local/bin:/usr/bin:/bin \
		GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 "$@"
}
now_us() { echo $(($(date +%s%N) / 1000)); }

# one SIDE N: a fresh cache and state dir, the fixture imported, then the timed build; prints microseconds.
one() {
	local side=$1 n=$2 t0 t1
	if [ "$side" = root ]; then
		local dir=$work/root-$n
		"$work/lkpkg" --cache "$dir/cache" cache import "$work/busybox.tar" >/dev/null
		t0=$(now_us)
		(cd "$work/repo" && "$work/lkpkg" --cache "$dir/cache" pkg build --state-dir "$dir/state" \
			--progress quiet --platforms "linux/$arch" hello >/dev/null 2>"$work/err") ||
			die "root build failed: $(tail -n 5 "$work/err")"
		t1=$(now_us)
		rm -rf "$dir"
	else
		rm -rf "$home/.linuxkit" "$home/.local/share/lkpkg"
		(cd "$home/repo" && as_user "$work/lkpkg" cache import "$work/busybox.tar" >/dev/null)
		t0=$(now_us)
		(cd "$home/repo" && as_user "$work/lkpkg" pkg build --progress quiet --platforms "linux/$arch" hello \
			>/dev/null 2>"$work/err") || die "rootless build failed: $(tail -n 5 "$work/err")"
		t1=$(now_us)
	fi
	echo $((t1 - t0))
}

median() { sort -n | sed -n "$((($runs + 1) / 2))p"; }
one root 0 >/dev/null # warm-up: page cache, binfmt, the binary
one rootless 0 >/dev/null
: >"$work/root.txt" && : >"$work/rootless.txt" && : >"$work/ratio.txt"
for n in $(seq 1 "$runs"); do
	r=$(one root "$n")
	u=$(one rootless "$n")
	echo "$r" >>"$work/root.txt"
	echo "$u" >>"$work/rootless.txt"
	echo $((u * 1000 / r)) >>"$work/ratio.txt"
	printf 'run %d: root %d ms, rootless %d ms\n' "$n" $((r / 1000)) $((u / 1000))
done
r=$(median <"$work/root.txt") u=$(median <"$work/rootless.txt") q=$(median <"$work/ratio.txt")
printf 'cold build of examples/hello (linux/%s), median of %d: root %d ms, rootless %d ms\n' "$arch" "$runs" $((r / 1000)) $((u / 1000))
printf 'rootless/root: ratio of medians %d.%03d, median of paired ratios %d.%03d (target <= 1.3)\n' \
	$((u / r)) $((u * 1000 / r % 1000)) $((q / 1000)) $((q % 1000))
