#!/usr/bin/env bash
# Times lkpkg building the example packages against its peers, measured in the same run, and prints
# ratios with the targets next to them (information only: it never fails on a missed target).
#
#   1. cold build of examples/hello (amd64, arm64, s390x) and examples/svc (amd64, arm64):
#        lkpkg pkg build (fresh --cache and --state-dir; fixture import included)
#        vs buildkitd + buildctl (BuildKit's daemonless mode: daemon start and stop timed; fresh --root)
#        vs buildah bud (fresh --root/--runroot; pulling the fixture into the store included)
#      Each peer runs twice: at its own defaults (what a user comparing the tools sees), and making the
#      reproducible images lkpkg always makes (equal work): SOURCE_DATE_EPOCH is the time of the package's
#      last commit and file times in the layers are clamped to it (buildctl: the build arg and the OCI
#      exporter's rewrite-timestamp=true; buildah: --timestamp). lkpkg runs at its defaults.
#   2. cached re-run: lkpkg pkg build when every tag is already in the cache (per package)
#   3. incremental: one file copied in the last stage changes; lkpkg pkg build --force; checks from
#      --progress plain that only the final stage's steps ran (earlier steps CACHED)
#   4. peak RSS (/usr/bin/time, "Maximum resident set size") of a cold lkpkg build, and of the peers
#
# usage: bench/build.sh [-n RUNS] [--packages 'P ...'] [--host-arch] [--no-buildkit] [--no-buildah] [--keep]
#   -n RUNS        timed runs of each measurement, alternating the tools; medians are reported (default 3)
#   --packages L   the example packages to build (default 'hello svc'; 'hello' alone is the 3-arch package)
#   --no-buildkit  skip the buildkitd + buildctl peer
#   --no-buildah   skip the buildah peer
#   --keep         keep the temporary directory and print where it is
#   --host-arch    build the packages for this host's architecture only (their build.yml arches rewritten)
# environment:
#   LKPKG            lkpkg binary to time (default: bin/lkpkg of this repository; run 'make build' first)
#   BUILDKIT_VERSION BuildKit release to compare with (default v0.34.2, the one lkpkg embeds)
#
# Needs root (lkpkg, buildkitd and buildah all run containers), git, GNU time, Go (only the first time:
# buildkitd and buildctl are built from the Go module proxy and kept under
# ${XDG_CACHE_HOME:-$HOME/.cache}/lkpkg-bench), QEMU binfmt handlers for arm64 and s390x (.ci/deps),
# and apt-get to install runc and buildah when they are missing. A peer that cannot run is reported
# and skipped. The first run spends about two minutes building buildkitd; later runs take about a minute.
set -euo pipefail

die() { echo "build.sh: $*" >&2; exit 1; }
note() { echo "build.sh: $*" >&2; }

runs=3 want_buildkit=1 want_buildah=1 keep=0 packages="hello svc" host_arch=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || die "-n needs a number"; runs=$2; shift 2 ;;
	--packages) [ $# -ge 2 ] || die "--packages needs a list of example packages"; packages=$2; shift 2 ;;
	--no-buildkit) want_buildkit=0; shift ;;
	--no-buildah) want_buildah=0; shift ;;
	--keep) keep=1; shift ;;
	--host-arch) host_arch=1; shift ;;
	-h|--help) sed -n '2,32s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
case $runs in ''|*[!0-9]*|0) die "-n wants a positive number, not '$runs'" ;; esac

[ "$(id -u)" = 0 ] || die "must run as root: lkpkg, buildkitd and buildah run build containers (try: sudo $0 $*)"

root=$(cd "$(dirname "$0")/.." && pwd)
lkpkg=${LKPKG:-$root/bin/lkpkg}
if [[ $lkpkg == */* ]]; then
	[ -x "$lkpkg" ] || die "no lkpkg binary at $lkpkg: run 'make build' first, or set LKPKG"
	lkpkg=$(cd "$(dirname "$lkpkg")" && pwd)/${lkpkg##*/}
else
	lkpkg=$(command -v "$lkpkg") || die "'${LKPKG}' is not in PATH: set LKPKG to the lkpkg binary"
fi
command -v git >/dev/null || die "git is not installed"
[ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1 ||
	die "GNU time (/usr/bin/time) is needed for peak RSS: apt-get install -y time"
for a in aarch64 s390x; do
	[ -e /proc/sys/fs/binfmt_misc/qemu-$a ] || die "no binfmt handler for $a: run .ci/deps as root first"
done
examples=$root/examples
fixture=$examples/busybox-oci
[ -f "$fixture/index.json" ] || die "no bundled base image at $fixture"
# The digest of the busybox:fixture index in the bundled layout (buildctl's named context wants it).
fixture_digest=$(tr -d ' \n\t' <"$fixture/index.json" |
	grep -o '"digest":"sha256:[0-9a-f]\{64\}"' | head -n1 | grep -o 'sha256:[0-9a-f]*') ||
	die "cannot read the index digest from $fixture/index.json"

bk_version=${BUILDKIT_VERSION:-v0.34.2}
bench_cache=${XDG_CACHE_HOME:-$HOME/.cache}/lkpkg-bench
bk_bin=$bench_cache/buildkit-$bk_version/bin

# A repository isolated from the user's and the system's git configuration.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@lkpkg.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@lkpkg.invalid
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

work=$(mktemp -d "${TMPDIR:-/tmp}/lkpkg-bench.XXXXXX")
bkd_pid=""
# unmount_under DIR: lazily unmounts whatever a tool left mounted under DIR (deepest first).
unmount_under() {
	local m
	awk -v d="$1/" 'index($2 "/", d) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
# stop_buildkitd: stops the buildkitd this script started ($bkd_pid is the /usr/bin/time running it).
stop_buildkitd() {
	local child
	[ -n "$bkd_pid" ] || return 0
	child=$(cat "/proc/$bkd_pid/task/$bkd_pid/children" 2>/dev/null || true)
	if [ -n "$child" ]; then
		kill -TERM $child 2>/dev/null || true
	else
		kill -TERM "$bkd_pid" 2>/dev/null || true
	fi
	wait "$bkd_pid" 2>/dev/null || true
	bkd_pid=""
}
cleanup() {
	local rc=$?
	stop_buildkitd
	unmount_under "$work"
	if [ $keep = 1 ]; then
		echo "build.sh: temporary files kept in $work" >&2
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# now_us prints a wall clock in microseconds.
if [ -n "${EPOCHREALTIME:-}" ]; then
	now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }
else
	now_us() { echo $(($(date +%s%N) / 1000)); }
fi
# cpu_now sets cpu to the user+system CPU time (µs) of this shell's finished children, and theirs, so far
# (the builtin 'times' in this shell itself: a subshell would have its own, zero, counts).
cpu_now() {
	local self u s
	times >"$work/times"
	{ read -r self; read -r u s; } <"$work/times"
	cpu=$(($(to_us "$u") + $(to_us "$s")))
}
to_us() { # to_us 1m2.345s → 62345000
	local m=${1%%m*} sec=${1#*m}
	sec=${sec%s}
	echo $((10#$m * 60000000 + 10#${sec%.*} * 1000000 + 10#${sec#*.} * 1000))
}
median() { # median FILE: the median of the numbers in FILE, one a line (the lower one of an even count)
	sort -n "$1" | sed -n "$((($(wc -l <"$1") + 1) / 2))p"
}
maxof() { sort -n "$1" | tail -n1; }
ms() { printf '%d.%03d s' $(($1 / 1000000)) $(($1 / 1000 % 1000)); }
msec() { printf '%d.%d ms' $(($1 / 1000)) $(($1 / 100 % 10)); }
mib() { printf '%d MiB' $((($1 + 512) / 1024)); } # KiB → MiB
ratio() { # ratio A B → A/B with two decimals
	local r=$((($1 * 100 + ($2 > 0 ? $2 : 1) / 2) / ($2 > 0 ? $2 : 1)))
	printf '%d.%02d' $((r / 100)) $((r % 100))
}
verdict() { [ "$1" = 1 ] && echo "met" || echo "NOT met"; }
tailof() { tail -n "${2:-15}" "$1" | sed 's/^/    /' >&2; }

# --- the packages, in a git repository (lkpkg's tags are git tree hashes) ---------------------------------
repo=$work/repo
mkdir -p "$repo"
git -C "$repo" init -q
read -r -a pkgs <<<"$packages"
[ ${#pkgs[@]} -gt 0 ] || die "--packages names no package"
for p in "${pkgs[@]}"; do
	[ -f "$examples/$p/build.yml" ] || die "no example package $p in $examples"
	cp -r "$examples/$p" "$repo/$p"
	if [ $host_arch = 1 ]; then # build.yml's arches: this host's only
		sed -i '/^arches:/,/^[^ -]/{/^ *- /d}; s/^arches:.*/arches:\n  - '"$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')"'/' "$repo/$p/build.yml"
	fi
done
# greet: examples/hello plus a file copied in the last stage (the incremental measurement changes it).
cp -r "$examples/hello" "$repo/greet"
sed -i 's/^image: hello$/image: greet/' "$repo/greet/build.yml"
printf 'COPY greeting /etc/greeting\n' >>"$repo/greet/Dockerfile"
printf 'hello\n' >"$repo/greet/greeting"
git -C "$repo" add -A
git -C "$repo" commit -q -m "bench packages"

arches_of() { # arches_of DIR: build.yml's arches, one a line
	sed -n '/^arches:/,/^[^ -]/s/^ *- *\([a-z0-9]*\).*/\1/p' "$1/build.yml"
}
platforms_of() { arches_of "$1" | sed 's,^,linux/,' | paste -sd, -; }
sde_of() { git -C "$repo" log -1 --format=%ct -- "$1"; } # sde_of PKG: what lkpkg takes as SOURCE_DATE_EPOCH
all_arches=$(for p in "${pkgs[@]}"; do arches_of "$repo/$p"; done | sort -u)
desc=$(for p in "${pkgs[@]}"; do printf '%s (%s) ' "$p" "$(arches_of "$repo/$p" | paste -sd, -)"; done)

# --- peers: find or install them --------------------------------------------------------------------------
have_buildkit=0 have_buildah=0 why_buildkit="skipped (--no-buildkit)" why_buildah="skipped (--no-buildah)"
apt_install() { # apt_install PKG: installs a Debian package quietly; fails if it cannot
	command -v apt-get >/dev/null || return 1
	note "installing $1 with apt-get (needed by the bench only)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >"$work/apt.log" 2>&1 && return 0
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$work/apt.log" 2>&1 || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >>"$work/apt.log" 2>&1
}
install_buildkit() {
	[ -x "$bk_bin/buildkitd" ] && [ -x "$bk_bin/buildctl" ] && return 0
	command -v go >/dev/null || { why_buildkit="buildkitd/buildctl are not in $bk_bin and Go is not installed to build them"; return 1; }
	mkdir -p "$bk_bin"
	note "building buildkitd and buildctl $bk_version from the Go module proxy into $bk_bin (once; about two minutes)"
	# 'go install ...@version' refuses modules whose go.mod has exclude directives (BuildKit's has):
	# then build inside a copy of the downloaded module, with its own go.mod and go.sum.
	if (cd "$work" && GOFLAGS= GOBIN=$bk_bin go install "github.com/moby/buildkit/cmd/buildkitd@$bk_version" \
		"github.com/moby/buildkit/cmd/buildctl@$bk_version") >"$work/go.log" 2>&1; then
		return 0
	fi
	local dir
	dir=$(cd "$work" && GOFLAGS= go mod download -json "github.com/moby/buildkit@$bk_version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') && [ -n "$dir" ] && [ -d "$dir" ] || {
		why_buildkit="cannot download github.com/moby/buildkit@$bk_version (see go mod download)"; return 1; }
	rm -rf "$work/buildkit-src"
	cp -r "$dir" "$work/buildkit-src" && chmod -R u+w "$work/buildkit-src"
	if ! (cd "$work/buildkit-src" && GOFLAGS=-mod=mod go build -trimpath \
		-ldflags "-X github.com/moby/buildkit/version.Version=$bk_version" \
		-o "$bk_bin/" ./cmd/buildkitd ./cmd/buildctl) >>"$work/go.log" 2>&1; then
		tailof "$work/go.log"
		rm -f "$bk_bin/buildkitd" "$bk_bin/buildctl"
		why_buildkit="building buildkitd/buildctl $bk_version failed"
		return 1
	fi
	rm -rf "$work/buildkit-src"
}
runc_dir=""
if [ $want_buildkit = 1 ]; then
	if install_buildkit; then
		runc=$(command -v runc || true)
		if [ -z "$runc" ] && apt_install runc; then runc=$(command -v runc || true); fi
		if [ -n "$runc" ]; then
			runc_dir=$(dirname "$runc") have_buildkit=1
		else
			why_buildkit="buildkitd's OCI worker needs runc, which is not installed and apt-get could not install it"
		fi
	fi
fi
if [ $want_buildah = 1 ]; then
	if command -v buildah >/dev/null || apt_install buildah; then
		have_buildah=1
	else
		why_buildah="buildah is not installed and apt-get could not install it"
	fi
	# This VM refuses raising RLIMIT_NPROC/NOFILE: no default ulimits for buildah's containers. crun, Debian's
	# default runtime, refuses hybrid cgroup hierarchies: buildah runs its RUN steps with runc when it can.
	printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
	if command -v runc >/dev/null || apt_install runc; then
		printf '[engine]\nruntime = "runc"\n' >>"$work/containers.conf"
	fi
fi

# --- the cold builds ------------------------------------------------------------------------------------
# Each cold_* function builds every package for all its arches from nothing, appends its wall time (µs)
# to $work/t.<tool>, the part of it spent importing the base image to $work/imp.<tool>, and its peak RSS
# (KiB) to $work/rss.<tool>; it returns non-zero (with the log in $work/log.<tool>) when the build fails.

cold_lkpkg() {
	local d=$work/cold-lkpkg t0 t1 t2 c0
	rm -rf "$d"
	mkdir -p "$d"
	cpu_now; c0=$cpu
	t0=$(now_us)
	tar -C "$fixture" -cf - . | "$lkpkg" --cache "$d/cache" cache import - >"$work/log.lkpkg" 2>&1 || return 1
	t1=$(now_us)
	/usr/bin/time -f %M -o "$d/rss" "$lkpkg" --cache "$d/cache" pkg build --state-dir "$d/state" \
		--progress plain "${pkgs[@]/#/$repo/}" >>"$work/log.lkpkg" 2>&1 || return 1
	t2=$(now_us)
	echo $((t2 - t0)) >>"$work/t.lkpkg"
	cpu_now; echo $((cpu - c0)) >>"$work/cpu.lkpkg"
	echo $((t1 - t0)) >>"$work/imp.lkpkg"
	tail -n1 "$d/rss" >>"$work/rss.lkpkg"
	unmount_under "$d"
	rm -rf "$d"
}

# cold_buildkit [NAME [REPRO]]: NAME (default buildkit) names the result files; REPRO 0 leaves buildctl at its
# defaults (no SOURCE_DATE_EPOCH, no rewrite-timestamp), as a user who does not ask for reproducible images sees it.
cold_buildkit() {
	local name=${1:-buildkit} repro=${2:-1} d=$work/cold-buildkit sock t0 t1 p i c0 rc=0
	local -a reproducible
	rm -rf "$d"
	mkdir -p "$d"
	sock=unix://$d/buildkitd.sock
	: >"$d/rss.ctl"
	cpu_now; c0=$cpu
	t0=$(now_us)
	PATH=$runc_dir:$PATH /usr/bin/time -f %M -o "$d/rss.d" "$bk_bin/buildkitd" --root "$d/root" --addr "$sock" \
		--oci-worker=true --containerd-worker=false >"$work/log.buildkitd" 2>&1 &
	bkd_pid=$!
	for ((i = 0; ; i++)); do
		"$bk_bin/buildctl" --addr "$sock" debug workers >/dev/null 2>&1 && break
		if ! kill -0 "$bkd_pid" 2>/dev/null || [ $i -ge 1500 ]; then
			cp "$work/log.buildkitd" "$work/log.buildkit"
			rc=1
			break
		fi
		sleep 0.01
	done
	if [ $rc = 0 ]; then
		: >"$work/log.buildkit"
		for p in "${pkgs[@]}"; do
			reproducible=(--opt "build-arg:SOURCE_DATE_EPOCH=$(sde_of "$p")")
			out="type=oci,dest=$d/$p.tar,rewrite-timestamp=true"
			[ "$repro" = 1 ] || { reproducible=(); out="type=oci,dest=$d/$p.tar"; }
			/usr/bin/time -f %M -o "$d/rss.c" "$bk_bin/buildctl" --addr "$sock" build --progress plain \
				--frontend dockerfile.v0 --local "context=$repo/$p" --local "dockerfile=$repo/$p" \
				--opt "platform=$(platforms_of "$repo/$p")" \
				--opt "context:busybox:fixture=oci-layout://busybox@$fixture_digest" \
				"${reproducible[@]}" --oci-layout "busybox=$fixture" \
				--output "$out" >>"$work/log.buildkit" 2>&1 || { rc=1; break; }
			tail -n1 "$d/rss.c" >>"$d/rss.ctl"
		done
	fi
	stop_buildkitd
	t1=$(now_us)
	if [ $rc = 0 ]; then
		echo $((t1 - t0)) >>"$work/t.$name"
		cpu_now; echo $((cpu - c0)) >>"$work/cpu.$name"
		echo 0 >>"$work/imp.$name"
		# Daemon and client run at the same time: their peaks add up.
		echo $(($(tail -n1 "$d/rss.d") + $(maxof "$d/rss.ctl"))) >>"$work/rss.$name"
	fi
	unmount_under "$d"
	rm -rf "$d"
	return $rc
}

buildah_driver=overlay
# cold_buildah [NAME [REPRO]]: as cold_buildkit; REPRO 0 leaves out --timestamp.
cold_buildah() {
	local name=${1:-buildah} repro=${2:-1} d=$work/cold-buildah t0 t1 t2 a p id c0 rc=0
	local -a s ts
	rm -rf "$d"
	mkdir -p "$d"
	s=(--root "$d/root" --runroot "$d/runroot" --storage-driver "$buildah_driver")
	export CONTAINERS_CONF=$work/containers.conf
	: >"$work/log.buildah"
	: >"$d/rss.all"
	cpu_now; c0=$cpu
	t0=$(now_us)
	# The base image: every arch of oci:examples/busybox-oci:busybox:fixture pulled into the fresh store,
	# then a local manifest list localhost/busybox:fixture over them (what FROM busybox:fixture finds).
	(buildah "${s[@]}" manifest create localhost/busybox:fixture >/dev/null &&
		for a in $all_arches; do
			id=$(buildah "${s[@]}" pull -q --platform "linux/$a" "oci:$fixture:busybox:fixture") &&
				buildah "${s[@]}" manifest add localhost/busybox:fixture "containers-storage:$id" >/dev/null || exit 1
		done) >>"$work/log.buildah" 2>&1 || rc=1
	t1=$(now_us)
	if [ $rc = 0 ]; then
		for p in "${pkgs[@]}"; do
			ts=(--timestamp "$(sde_of "$p")")
			[ "$repro" = 1 ] || ts=()
			/usr/bin/time -f %M -o "$d/rss" buildah "${s[@]}" bud --pull=never --layers "${ts[@]}" \
				--platform "$(platforms_of "$repo/$p")" --manifest "localhost/$p:bench" "$repo/$p" \
				>>"$work/log.buildah" 2>&1 || { rc=1; break; }
			tail -n1 "$d/rss" >>"$d/rss.all"
			# Export the result, as lkpkg (into its cache) and buildctl (type=oci) do.
			buildah "${s[@]}" manifest push -q --all "localhost/$p:bench" "oci-archive:$d/$p.tar" \
				>>"$work/log.buildah" 2>&1 || { rc=1; break; }
		done
	fi
	t2=$(now_us)
	unset CONTAINERS_CONF
	if [ $rc = 0 ]; then
		echo $((t2 - t0)) >>"$work/t.$name"
		cpu_now; echo $((cpu - c0)) >>"$work/cpu.$name"
		echo $((t1 - t0)) >>"$work/imp.$name"
		maxof "$d/rss.all" >>"$work/rss.$name"
	fi
	unmount_under "$d"
	rm -rf "$d"
	return $rc
}

tools=(lkpkg)
[ $have_buildkit = 1 ] && tools+=(buildkit)
[ $have_buildah = 1 ] && tools+=(buildah)

# A warm-up round (not timed: loads the binaries into the page cache and finds out what can run here).
note "cold builds of ${desc% }: 1 warm-up + $runs timed runs of: ${tools[*]}"
cold_lkpkg || { tailof "$work/log.lkpkg" 30; die "lkpkg failed to build the examples (log above)"; }
if [ $have_buildkit = 1 ] && ! cold_buildkit; then
	tailof "$work/log.buildkit"
	have_buildkit=0 why_buildkit="buildkitd + buildctl failed here (log above)"
	note "$why_buildkit; continuing without it"
fi
if [ $have_buildah = 1 ] && ! cold_buildah; then
	tailof "$work/log.buildah" 8
	note "buildah with the overlay storage driver failed (log above); trying vfs"
	buildah_driver=vfs
	if ! cold_buildah; then
		tailof "$work/log.buildah"
		have_buildah=0 why_buildah="buildah bud failed here with both the overlay and vfs storage drivers (log above)"
		note "$why_buildah; continuing without it"
	fi
fi
rm -f "$work"/t.* "$work"/imp.* "$work"/rss.* "$work"/cpu.*
# The peers twice: making lkpkg's reproducible images (equal work) and at their own defaults (what a user sees).
cold_buildkitdef() { cold_buildkit buildkitdef 0; }
cold_buildahdef() { cold_buildah buildahdef 0; }
tools=(lkpkg)
[ $have_buildkit = 1 ] && tools+=(buildkit buildkitdef)
[ $have_buildah = 1 ] && tools+=(buildah buildahdef)

# Timed runs, alternating the order each run so that drift of the machine affects every tool alike.
for ((r = 0; r < runs; r++)); do
	order=("${tools[@]}")
	if [ $((r % 2)) = 1 ]; then
		order=()
		for ((i = ${#tools[@]} - 1; i >= 0; i--)); do order+=("${tools[$i]}"); done
	fi
	for tool in "${order[@]}"; do
		"cold_$tool" || { tailof "$work/log.$tool" 30; die "$tool failed in timed run $((r + 1)) (log above)"; }
	done
done

# --- cached re-run and incremental (lkpkg only; one engine state and cache kept across runs) ---------------
inc=$work/inc
mkdir -p "$inc"
tar -C "$fixture" -cf - . | "$lkpkg" --cache "$inc/cache" cache import - >/dev/null 2>&1 || die "lkpkg cache import failed"
"$lkpkg" --cache "$inc/cache" pkg build --state-dir "$inc/state" "${pkgs[@]/#/$repo/}" "$repo/greet" >"$work/log.setup" 2>&1 ||
	{ tailof "$work/log.setup" 30; die "lkpkg failed to build the packages"; }

cached_runs=$((runs * 5))
: >"$work/t.cached"
"$lkpkg" --cache "$inc/cache" pkg build --state-dir "$inc/state" "${pkgs[@]/#/$repo/}" >"$work/log.cached" 2>&1 || true
for ((r = 0; r < cached_runs; r++)); do
	t0=$(now_us)
	"$lkpkg" --cache "$inc/cache" pkg build --state-dir "$inc/state" "${pkgs[@]/#/$repo/}" >"$work/log.cached" 2>&1 ||
		{ tailof "$work/log.cached"; die "cached re-run failed"; }
	t1=$(now_us)
	echo $((t1 - t0)) >>"$work/t.cached"
done
: >"$work/t.cached1"
for ((r = 0; r < cached_runs; r++)); do
	t0=$(now_us)
	"$lkpkg" --cache "$inc/cache" pkg build --state-dir "$inc/state" "$repo/${pkgs[0]}" >"$work/log.cached1" 2>&1 ||
		{ tailof "$work/log.cached1"; die "cached re-run failed"; }
	t1=$(now_us)
	echo $((t1 - t0)) >>"$work/t.cached1"
done
cached_ok=1
grep -q 'not building' "$work/log.cached1" || cached_ok=0
grep -q 'not building' "$work/log.cached" && ! grep -q '^#[0-9]' "$work/log.cached" || cached_ok=0

# The final stage's name as --progress plain shows it: the last FROM's "AS name", else stage-<index>.
final_stage=$(awk 'toupper($1) == "FROM" { n++; name = (toupper($3) == "AS") ? $4 : "" }
	END { print (name != "") ? name : "stage-" (n - 1) }' "$repo/greet/Dockerfile")
# check_incremental LOG: every step outside the final stage CACHED, and COPY greeting ran.
check_incremental() {
	awk -v final="$final_stage" '
	/^#[0-9]+ \[/ && index($0, "]") {
		id = $1; label = substr($0, length(id) + 3); label = substr(label, 1, index(label, "]") - 1)
		split(label, w, " ")
		if (w[1] ~ /^linux\//) { # a multi-platform solve prefixes each step with its platform
			label = substr(label, length(w[1]) + 2); split(label, w, " ")
		}
		if (w[1] == "internal" || w[1] == "context") next
		steps[id] = label; final_step[id] = (w[1] == final)
		if ($0 ~ /COPY greeting/) greeting[id] = 1
		next
	}
	/^#[0-9]+ CACHED$/ { cached[$1] = 1; next }
	/^#[0-9]+ DONE / { done[$1] = 1; next }
	END {
		ok = 1; n = 0
		for (id in steps) {
			if (!final_step[id] && (done[id] || !cached[id])) { print "  ran (not CACHED): " id " [" steps[id] "]"; ok = 0 }
			if (greeting[id]) { n++; if (!done[id] || cached[id]) { print "  did not run: " id " [" steps[id] "]"; ok = 0 } }
		}
		if (n == 0) { print "  no COPY greeting step in the output"; ok = 0 }
		exit !ok
	}' "$1"
}
: >"$work/t.inc"
inc_ok=1
for ((r = 0; r < runs; r++)); do
	printf 'change %d\n' "$r" >"$repo/greet/greeting"
	t0=$(now_us)
	"$lkpkg" --cache "$inc/cache" pkg build --state-dir "$inc/state" --force --progress plain "$repo/greet" \
		>"$work/log.inc" 2>&1 || { tailof "$work/log.inc" 30; die "incremental build failed"; }
	t1=$(now_us)
	echo $((t1 - t0)) >>"$work/t.inc"
	check_incremental "$work/log.inc" >"$work/inc.why" || { inc_ok=0; cp "$work/log.inc" "$work/log.inc.failed"; }
done
git -C "$repo" checkout -q -- greet/greeting

# --- the report -----------------------------------------------------------------------------------------
bk_ver=$([ $have_buildkit = 1 ] && "$bk_bin/buildkitd" --version 2>/dev/null | awk '{print $3}' || true)
bh_ver=$([ $have_buildah = 1 ] && buildah --version 2>/dev/null | awk '{print $3}' || true)
label_lkpkg="lkpkg pkg build"
label_buildkit="buildkitd + buildctl ${bk_ver:-$bk_version}"
label_buildah="buildah bud ${bh_ver} ($buildah_driver)"
label_buildkitdef="$label_buildkit, defaults"
label_buildahdef="$label_buildah, defaults"
echo
echo "lkpkg build benchmark: $("$lkpkg" version 2>/dev/null | head -n1) on $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cold build of ${desc% }, median of $runs runs (order alternated each run)"
printf '  %-30s %9s %20s %17s %9s %9s\n' "" "wall" "(min - max)" "of it: base image" "CPU" "peak RSS"
for tool in "${tools[@]}"; do
	l=label_$tool imp="(in the build)"
	[ "${tool#buildkit}" != "$tool" ] || imp=$(ms "$(median "$work/imp.$tool")")
	printf '  %-30s %9s %20s %17s %9s %9s\n' "${!l}" "$(ms "$(median "$work/t.$tool")")" \
		"($(ms "$(sort -n "$work/t.$tool" | head -n1)") - $(ms "$(maxof "$work/t.$tool")"))" \
		"$imp" "$(ms "$(median "$work/cpu.$tool")")" "$(mib "$(median "$work/rss.$tool")")"
done
[ $have_buildkit = 1 ] || echo "  buildkitd + buildctl: not measured: $why_buildkit"
[ $have_buildah = 1 ] || echo "  buildah bud: not measured: $why_buildah"
echo "  (CPU: user+system of every process involved, QEMU included; less sensitive than wall to a busy machine)"
echo "  (wall: whole processes, from an empty cache/state/root; lkpkg includes 'cache import' of the fixture,"
echo "   buildah its pull into the store, buildkitd reads it from the OCI layout during the build and includes"
echo "   daemon start and stop; peak RSS of buildkitd + buildctl is the sum of both processes' peaks, each"
echo "   including its children (runc); buildah's is that of its largest bud process)"
echo "lkpkg, cached and incremental (same engine state), median of $cached_runs and $runs runs"
echo "  (greet is examples/hello plus 'COPY greeting /etc/greeting' in its last stage; each run changes greeting)"
t_cached=$(median "$work/t.cached")
npk=${#pkgs[@]}
printf '  %-36s %9s\n' "re-run, all ${npk} packages cached" "$(msec "$t_cached")"
printf '  %-36s %9s\n' "re-run, only ${pkgs[0]} (cached)" "$(msec "$(median "$work/t.cached1")")"
[ $cached_ok = 1 ] || echo "  (unexpected: a cached re-run built something; see its log with --keep)"
printf '  %-36s %9s\n' "incremental: greet, --force" "$(ms "$(median "$work/t.inc")")"
echo "targets (information only)"
t_lk=$(median "$work/t.lkpkg")
# target TOOL LABEL MAX%: the cold-build ratio lkpkg / TOOL against its target (MAX% of the peer's time).
target() {
	local tool=$1 label=$2 max=$3 t why
	if [ ! -s "$work/t.$tool" ]; then
		why=why_${tool%def}
		printf '  %-58s %8s  (target <= 0.%02d)  not measured: %s\n' "$label" "-" "$max" "${!why}"
		return
	fi
	t=$(median "$work/t.$tool")
	printf '  %-58s %8s  (target <= 0.%02d)  %s\n' "$label" "$(ratio "$t_lk" "$t")" "$max" "$(verdict $((t_lk * 100 <= t * max)))"
}
target buildkitdef "cold: lkpkg / buildkitd+buildctl at their defaults" 80
target buildkit "cold: lkpkg / buildkitd+buildctl, both reproducible" 60
target buildahdef "cold: lkpkg / buildah bud at its defaults" 40
target buildah "cold: lkpkg / buildah bud --timestamp (both reproducible)" 40
if [ -s "$work/t.buildkit" ]; then
	ti=$(median "$work/imp.lkpkg")
	printf '  %-58s %8s  (information)\n' "      reproducible, without lkpkg's fixture import" "$(ratio $((t_lk - ti)) "$(median "$work/t.buildkit")")"
fi
per=$((t_cached / npk))
printf '  %-52s %8s  (target <= 50 ms) %s\n' "cached re-run, per package (all ${npk} in one run / ${npk})" "$(msec "$per")" "$(verdict $((per <= 50000)))"
t1=$(median "$work/t.cached1")
printf '  %-52s %8s  (target <= 50 ms) %s\n' "cached re-run, one package alone" "$(msec "$t1")" "$(verdict $((t1 <= 50000)))"
printf '  %-52s %8s  (information)\n' "incremental: only final stage re-ran, rest CACHED" "$([ $inc_ok = 1 ] && echo PASS || echo FAIL)"
[ $inc_ok = 1 ] || sed 's/^/    /' "$work/inc.why"
rss_lk=$(median "$work/rss.lkpkg")
printf '  %-52s %8s  (target <= 100 MiB) %s\n' "peak RSS, cold lkpkg build (max $(mib "$(maxof "$work/rss.lkpkg")"))" \
	"$(mib "$rss_lk")" "$(verdict $((rss_lk <= 100 * 1024)))"
if [ $have_buildkit = 1 ]; then
	printf '  %-52s %8s  (information)\n' "peak RSS, buildkitd + buildctl" "$(mib "$(median "$work/rss.buildkit")")"
fi
