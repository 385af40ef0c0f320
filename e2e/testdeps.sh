#!/bin/sh
# Installs the external tools the e2e tests need, when they are missing, and
# checks that the ones found are usable. Safe to run repeatedly: when
# everything is present it prints nothing and exits 0.
#
#   Debian packages: docker-registry (distribution 2.8), skopeo, zsh, fish,
#                    busybox-static
#   $CACHE/bin:      registry (distribution v3), crane, regctl, and a docker
#                    CLI when none is on PATH
#   CI runners:      act (nektos/act, GitHub Actions) and woodpecker-cli
#                    (Woodpecker's CLI with its local backend), in $CACHE/bin;
#                    cold builds take several minutes each on 2 cores
#
# CACHE is ${DOCKER_WERF_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docker-werf-test}.
# The Makefile puts $CACHE/bin on PATH; the e2e harness also looks there.
#
# With the argument "demo" it installs only what `make demo` uses
# (e2e/demo): docker-registry, and a docker CLI when none is on PATH.
set -eu

case ${1:-all} in
all | demo) MODE=${1:-all} ;;
*)
	printf 'testdeps: error: unknown argument %s: expected none (what every test needs) or "demo" (what make demo needs)\n' "$1" >&2
	exit 2
	;;
esac
# everything: true unless only the demo's tools are wanted.
everything() { [ "$MODE" = all ]; }

REGISTRY_V3_VERSION=v3.1.2
CRANE_VERSION=v0.22.1
REGCTL_VERSION=v0.11.7

CACHE=${DOCKER_WERF_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docker-werf-test}
BIN=$CACHE/bin

say() { printf 'testdeps: %s\n' "$*" >&2; }
die() { printf 'testdeps: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$BIN" || die "cannot create $BIN"

# as_root CMD...: run CMD as root (directly, or through sudo).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root or sudo to run '$*' (to install:$WANTED); install them by hand"
	fi
}

APT_UPDATED=
WANTED=
apt_update_once() {
	[ -n "$APT_UPDATED" ] && return 0
	command -v apt-get >/dev/null 2>&1 ||
		die "apt-get not found (needed for:$WANTED); install them by hand"
	as_root apt-get update -qq >/dev/null || die "apt-get update failed"
	APT_UPDATED=1
}

# --- Debian packages -------------------------------------------------------
missing_pkgs=
command -v docker-registry >/dev/null 2>&1 || missing_pkgs="$missing_pkgs docker-registry"
if everything; then
	command -v skopeo >/dev/null 2>&1 || missing_pkgs="$missing_pkgs skopeo"
	# Shells that ci-env's output is evaluated in (internal/shellenv, e2e); dash and
	# bash are always there.
	command -v zsh >/dev/null 2>&1 || missing_pkgs="$missing_pkgs zsh"
	command -v fish >/dev/null 2>&1 || missing_pkgs="$missing_pkgs fish"
	# busybox: one of those shells, and with the docker CLI the base of the CI image
	# test (e2e/runner_image_test.go).
	command -v busybox >/dev/null 2>&1 || missing_pkgs="$missing_pkgs busybox-static"
fi
if [ -n "$missing_pkgs" ]; then
	WANTED=" Debian packages$missing_pkgs"
	apt_update_once
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing_pkgs >/dev/null ||
		die "apt-get install failed for:$missing_pkgs"
	say "installed Debian packages:$missing_pkgs"
fi

# --- Go-installed tools, pinned, cached in $BIN ----------------------------
# go_tool NAME MODULE@VERSION VERSION-CHECK-STRING CMD-ARGS...
go_tool() {
	name=$1 pkg=$2 want=$3
	shift 3
	if [ -x "$BIN/$name" ]; then
		if "$BIN/$name" "$@" 2>&1 | grep -qF -- "$want"; then
			return 0
		fi
		say "$BIN/$name is not $want; reinstalling"
		rm -f "$BIN/$name"
	fi
	command -v go >/dev/null 2>&1 || die "go not found: needed to install $pkg"
	GOBIN=$BIN GOFLAGS=-buildvcs=false go install "$pkg" || die "go install $pkg failed"
	say "installed $name $want into $BIN"
}

everything && go_tool registry "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_V3_VERSION" "$REGISTRY_V3_VERSION" --version
everything && go_tool crane "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" "$CRANE_VERSION" version
everything && go_tool regctl "github.com/regclient/regclient/cmd/regctl@$REGCTL_VERSION" "$REGCTL_VERSION" version --format '{{.VCSTag}}'

# --- Kubernetes API server and kine, for cleanup's scan of clusters --------
# kube-apiserver is built from the k8s.io/kubernetes module: its go.mod points
# the k8s.io/* staging modules at ./staging (empty in the published module), so
# a writable copy drops go.work and those replaces and requires the published
# modules of the same release instead. kine serves the etcd API on sqlite.
# A cold build takes several minutes; both binaries are cached in $BIN.
KUBE_VERSION=v1.37.2
KUBE_STAGING_VERSION=v0.37.2
KINE_VERSION=v0.17.5

kube_apiserver() {
	if [ -x "$BIN/kube-apiserver" ]; then
		"$BIN/kube-apiserver" --version 2>&1 | grep -qF "Kubernetes $KUBE_VERSION" && return 0
		say "$BIN/kube-apiserver is not $KUBE_VERSION; rebuilding"
		rm -f "$BIN/kube-apiserver"
	fi
	command -v go >/dev/null 2>&1 || die "go not found: needed to build kube-apiserver $KUBE_VERSION"
	say "building kube-apiserver $KUBE_VERSION (several minutes, once)"
	src=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || die "go mod download k8s.io/kubernetes@$KUBE_VERSION gave no module directory"
	ktmp=$(mktemp -d)
	trap 'chmod -R u+w "$ktmp" 2>/dev/null; rm -rf "$ktmp"' EXIT
	{ cp -R "$src" "$ktmp/kubernetes" && chmod -R u+w "$ktmp/kubernetes"; } || die "cannot copy $src"
	(
		cd "$ktmp/kubernetes" &&
			rm -f go.work go.work.sum &&
			sed -e '/^replace (/,/^)/d' \
				-e "s#^\([[:space:]]*k8s\.io/[a-z0-9-]*\) v0\.0\.0\$#\1 $KUBE_STAGING_VERSION#" go.mod >go.mod.new &&
			mv go.mod.new go.mod &&
			! grep -q ' v0\.0\.0$' go.mod &&
			GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -mod=mod -trimpath \
				-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION" \
				-o "$BIN/kube-apiserver.tmp" ./cmd/kube-apiserver
	) >"$ktmp/log" 2>&1 || die "building kube-apiserver $KUBE_VERSION failed: $(tail -n 20 "$ktmp/log")"
	mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
	chmod -R u+w "$ktmp" 2>/dev/null
	rm -rf "$ktmp"
	trap - EXIT
	"$BIN/kube-apiserver" --version 2>&1 | grep -qF "Kubernetes $KUBE_VERSION" ||
		die "$BIN/kube-apiserver does not report $KUBE_VERSION"
	say "installed kube-apiserver $KUBE_VERSION into $BIN"
}

# kine's own version string is set only by its release builds; the module
# version recorded in the binary is what go install pinned.
kine_tool() {
	if [ -x "$BIN/kine" ]; then
		go version -m "$BIN/kine" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+github.com/k3s-io/kine[[:space:]]+$KINE_VERSION([[:space:]]|\$)" && return 0
		say "$BIN/kine is not $KINE_VERSION; reinstalling"
		rm -f "$BIN/kine"
	fi
	command -v go >/dev/null 2>&1 || die "go not found: needed to install kine $KINE_VERSION"
	GOBIN=$BIN GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "github.com/k3s-io/kine@$KINE_VERSION" ||
		die "go install github.com/k3s-io/kine@$KINE_VERSION failed"
	say "installed kine $KINE_VERSION into $BIN"
}

everything && kube_apiserver
everything && kine_tool

# --- CI runners: nektos/act and Woodpecker's CLI --------------------------
# act runs GitHub Actions workflow files on the host (-P X=-self-hosted).
# Woodpecker v1's go.mod names the vanity path go.woodpecker-ci.org/woodpecker,
# which the module proxy refuses; the module is served under its GitHub path,
# so woodpecker-cli is built from a writable copy of that module's source.
ACT_VERSION=v0.2.89
WOODPECKER_VERSION=v1.0.5

everything && go_tool act "github.com/nektos/act@$ACT_VERSION" "act version ${ACT_VERSION#v}" --version

woodpecker_cli() {
	if [ -x "$BIN/woodpecker-cli" ]; then
		"$BIN/woodpecker-cli" --version 2>&1 | grep -qF "version $WOODPECKER_VERSION" && return 0
		say "$BIN/woodpecker-cli is not $WOODPECKER_VERSION; rebuilding"
		rm -f "$BIN/woodpecker-cli"
	fi
	command -v go >/dev/null 2>&1 || die "go not found: needed to build woodpecker-cli $WOODPECKER_VERSION"
	say "building woodpecker-cli $WOODPECKER_VERSION (several minutes, once)"
	src=$(go mod download -json "github.com/woodpecker-ci/woodpecker@$WOODPECKER_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || die "go mod download github.com/woodpecker-ci/woodpecker@$WOODPECKER_VERSION gave no module directory"
	wtmp=$(mktemp -d)
	trap 'chmod -R u+w "$wtmp" 2>/dev/null; rm -rf "$wtmp"' EXIT
	{ cp -R "$src" "$wtmp/woodpecker" && chmod -R u+w "$wtmp/woodpecker"; } || die "cannot copy $src"
	(
		cd "$wtmp/woodpecker" &&
			GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath \
				-ldflags "-s -w -X go.woodpecker-ci.org/woodpecker/version.Version=$WOODPECKER_VERSION" \
				-o "$BIN/woodpecker-cli.tmp" ./cmd/cli
	) >"$wtmp/log" 2>&1 || die "building woodpecker-cli $WOODPECKER_VERSION failed: $(tail -n 20 "$wtmp/log")"
	mv "$BIN/woodpecker-cli.tmp" "$BIN/woodpecker-cli"
	chmod -R u+w "$wtmp" 2>/dev/null
	rm -rf "$wtmp"
	trap - EXIT
	"$BIN/woodpecker-cli" --version 2>&1 | grep -qF "version $WOODPECKER_VERSION" ||
		die "$BIN/woodpecker-cli does not report $WOODPECKER_VERSION"
	say "installed woodpecker-cli $WOODPECKER_VERSION into $BIN"
}
everything && woodpecker_cli

# --- docker CLI (client only) when none is on PATH --------------------------
if ! command -v docker >/dev/null 2>&1 && [ ! -x "$BIN/docker" ]; then
	WANTED=" a docker CLI (Debian docker.io, client only)"
	apt_update_once
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -qq docker.io >"$tmp/log" 2>&1) ||
		die "apt-get download docker.io failed: $(cat "$tmp/log")"
	dpkg-deb -x "$tmp"/docker.io_*.deb "$tmp/x" || die "dpkg-deb -x failed"
	cp "$tmp/x/usr/bin/docker" "$BIN/docker.tmp" && mv "$BIN/docker.tmp" "$BIN/docker"
	rm -rf "$tmp"
	trap - EXIT
	say "installed docker CLI (Debian docker.io, client only) into $BIN"
fi

# --- usability checks -------------------------------------------------------
check() {
	name=$1
	shift
	out=$("$@" 2>&1) || die "$name is not usable: '$*' failed: $out"
}
PATH=$BIN:$PATH
check docker-registry docker-registry --version
check docker docker --version
check git git --version
everything || exit 0
check skopeo skopeo --version
check registry "$BIN/registry" --version
check crane "$BIN/crane" version
check regctl "$BIN/regctl" version
check act "$BIN/act" --version
check woodpecker-cli "$BIN/woodpecker-cli" --version
exit 0
