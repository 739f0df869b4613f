#!/usr/bin/env bash
# Times `lkpkg pkg show-tag` over a generated repository of 40 packages against
# asking git once per package, the way linuxkit does, and prints the ratios.
#
# usage: bench/showtag.sh [-n RUNS] [--dirty] [--no-check] [--keep]
#   -n RUNS     timed runs per command; the median is reported (default 10)
#   --dirty     modify and add a file in every package (tags get -dirty-…)
#   --no-check  do not compare lkpkg's tags with git's tree ids first
#   --keep      keep the generated repository and print where it is
# environment:
#   LKPKG       the command to time, run as `$LKPKG pkg show-tag <dirs>`
#               (default: bin/lkpkg of this repository; LKPKG=linuxkit times
#               linuxkit itself)
#   PACKAGES    number of packages (default 40)
#
# Needs only bash, git and coreutils.
set -euo pipefail

die() { echo "showtag.sh: $*" >&2; exit 1; }

runs=10 dirty=0 check=1 keep=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || die "-n needs a number"; runs=$2; shift 2 ;;
	--dirty) dirty=1; shift ;;
	--no-check) check=0; shift ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
case $runs in ''|*[!0-9]*|0) die "-n wants a positive number, not '$runs'" ;; esac
npkg=${PACKAGES:-40}
case $npkg in ''|*[!0-9]*|0) die "PACKAGES wants a positive number, not '$npkg'" ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
read -r -a lkpkg <<<"${LKPKG:-$root/bin/lkpkg}"
[ ${#lkpkg[@]} -gt 0 ] || die "LKPKG is empty"
if [[ ${lkpkg[0]} == */* ]]; then
	[ -x "${lkpkg[0]}" ] || die "no lkpkg binary at ${lkpkg[0]}: run 'make build' first, or set LKPKG to the command to time"
else
	command -v "${lkpkg[0]}" >/dev/null || die "'${lkpkg[0]}' is not in PATH: set LKPKG to the command to time"
fi
command -v git >/dev/null || die "git is not installed"

# A repository isolated from the user's and the system's git configuration.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@lkpkg.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@lkpkg.invalid
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

work=$(mktemp -d "${TMPDIR:-/tmp}/lkpkg-showtag.XXXXXX")
if [ $keep = 1 ]; then
	echo "repository kept in $work/repo" >&2
else
	trap 'rm -rf "$work"' EXIT
fi
repo=$work/repo
mkdir "$repo"
git -C "$repo" init -q
printf '*.o\n' >"$repo/.gitignore"
dirs=()
for i in $(seq -w 1 "$npkg"); do
	d=$repo/pkg/p$i
	mkdir -p "$d/src"
	printf 'org: lkpkgbench\nimage: p%s\n' "$i" >"$d/build.yml"
	printf 'FROM scratch\nCOPY src /src\n' >"$d/Dockerfile"
	printf 'int main(void) { return %d; }\n' "$((10#$i))" >"$d/src/main.c"
	printf '#define X 1\n' >"$d/src/util.h"
	dirs+=("$d")
done
git -C "$repo" add -A
git -C "$repo" commit -q -m "$npkg packages"
for d in "${dirs[@]}"; do
	printf 'object\n' >"$d/src/main.o" # ignored: never makes a package dirty
	if [ $dirty = 1 ]; then
		printf 'changed\n' >>"$d/Dockerfile"
		printf 'untracked\n' >"$d/NOTES"
	fi
done

# The reference answers: one git process per package.
git_per_package() {
	local d
	for d in "${dirs[@]}"; do
		git -C "$d" ls-tree --full-tree HEAD -- "$d" >/dev/null
	done
}
# What linuxkit runs per package to compute a tag: the work-tree check, the
# dirty check, the top-level check and ls-tree (plus two ls-files when dirty).
linuxkit_per_package() {
	local d
	for d in "${dirs[@]}"; do
		git -C "$d" rev-parse --is-inside-work-tree >/dev/null
		if git -C "$d" diff --no-ext-diff --exit-code --quiet HEAD -- "$d" &&
			! git -C "$d" ls-files --exclude-standard --others --error-unmatch -- "$d" >/dev/null 2>&1; then
			:
		else
			git -C "$d" ls-files >/dev/null
			git -C "$d" ls-files --exclude-standard --others >/dev/null
		fi
		git -C "$d" rev-parse --prefix "$d" --show-toplevel >/dev/null
		git -C "$d" ls-tree --full-tree HEAD -- "$d" >/dev/null
	done
}
show_tag() { "${lkpkg[@]}" pkg show-tag "${dirs[@]}"; }

if [ $check = 1 ]; then
	out=$(show_tag 2>"$work/err") || die "'${lkpkg[*]} pkg show-tag' failed (does this build have 'pkg show-tag' yet?): $(cat "$work/err")"
	mapfile -t tags <<<"$out"
	[ ${#tags[@]} = "$npkg" ] || die "expected $npkg tags from lkpkg, got ${#tags[@]}:
$out"
	for idx in "${!dirs[@]}"; do
		d=${dirs[$idx]}
		tree=$(git -C "$d" ls-tree --full-tree HEAD -- "$d")
		tree=${tree#* * } tree=${tree%%$'\t'*}
		want="lkpkgbench/${d##*/}:$tree"
		got=${tags[$idx]}
		if [ $dirty = 1 ]; then
			[[ $got =~ ^"$want"-dirty-[0-9a-f]{7}$ ]] || die "tag of ${d#"$repo"/} is '$got', want '$want-dirty-<7 hex>'"
		else
			[ "$got" = "$want" ] || die "tag of ${d#"$repo"/} is '$got', want '$want'"
		fi
	done
fi

# now_us prints a wall clock in microseconds.
if [ -n "${EPOCHREALTIME:-}" ]; then
	now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }
else
	now_us() { echo $(($(date +%s%N) / 1000)); }
fi

# median_us RUNS CMD...: median wall time of CMD over RUNS runs, after a warm-up.
median_us() {
	local n=$1 i t0 t1
	shift
	"$@" >/dev/null 2>"$work/err" || die "'$*' failed: $(cat "$work/err")"
	: >"$work/times"
	for ((i = 0; i < n; i++)); do
		t0=$(now_us)
		"$@" >/dev/null 2>"$work/err" || die "'$*' failed: $(cat "$work/err")"
		t1=$(now_us)
		echo $((t1 - t0)) >>"$work/times"
	done
	sort -n "$work/times" | sed -n "$((n / 2 + 1))p"
}

ms() { printf '%d.%03d ms' $(($1 / 1000)) $(($1 % 1000)); }
ratio() { # ratio A B → A/B with two decimals
	local r=$(($1 * 100 / ($2 > 0 ? $2 : 1)))
	printf '%d.%02dx' $((r / 100)) $((r % 100))
}

state=clean
[ $dirty = 1 ] && state=dirty
t_git=$(median_us "$runs" git_per_package)
t_lk=$(median_us "$runs" linuxkit_per_package)
t_lkpkg=$(median_us "$runs" show_tag)
echo "$npkg $state packages, median of $runs runs ($(git --version))"
printf '  %-44s %12s\n' "git ls-tree, once per package" "$(ms "$t_git")"
printf '  %-44s %12s\n' "linuxkit's tag git calls, per package" "$(ms "$t_lk")"
printf '  %-44s %12s\n' "${lkpkg[*]##*/} pkg show-tag <all>" "$(ms "$t_lkpkg")"
echo "  ratio lkpkg / git ls-tree per package: $(ratio "$t_lkpkg" "$t_git" | tr -d x)  (target <= 1.0)"
echo "  speed-up vs git ls-tree per package: $(ratio "$t_git" "$t_lkpkg")"
echo "  speed-up vs linuxkit's git calls:    $(ratio "$t_lk" "$t_lkpkg")"
