#!/bin/sh
# Builds docker-werf and docker-credential-werf from this source tree and
# installs them: the plugin where the docker CLI looks for plugins, the
# credential helper in a directory on PATH. Safe to run again.
set -u

usage() {
	cat <<USAGE
Usage: sh install.sh [-b BINDIR] [-p PLUGINDIR]

  -b BINDIR     where docker-credential-werf goes (default: /usr/local/bin as root,
                else \$HOME/.local/bin)
  -p PLUGINDIR  where docker-werf goes (default: \${DOCKER_CONFIG:-\$HOME/.docker}/cli-plugins)
  -h            this help

Needs Go 1.26 or newer. Environment: DOCKER_CONFIG, GO (the go command to use).
USAGE
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

if [ "$(id -u)" = 0 ]; then bindir=/usr/local/bin; else bindir=${HOME:?HOME is not set}/.local/bin; fi
plugindir=${DOCKER_CONFIG:-${HOME:?HOME is not set}/.docker}/cli-plugins
while getopts b:p:h opt; do
	case $opt in
	b) bindir=$OPTARG ;;
	p) plugindir=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { usage >&2; die "unexpected argument: $1"; }

src=$(cd "$(dirname "$0")" && pwd) || die "cannot find the source tree"
[ -f "$src/go.mod" ] || die "$src is not the docker-werf source tree (no go.mod)"

go=${GO:-}
[ -n "$go" ] || go=$(command -v go 2>/dev/null) || go=""
[ -n "$go" ] || { [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go; }
[ -n "$go" ] || die "Go is not installed: install Go 1.26 or newer (https://go.dev/dl/) or set GO=/path/to/go"
goversion=$("$go" env GOVERSION 2>/dev/null) || die "$go does not work"
minor=$(echo "$goversion" | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
[ -n "$minor" ] && [ "$minor" -ge 26 ] || die "Go 1.26 or newer is needed, found $goversion"

# The same semver as the Makefile: vX.Y.Z at the clean release tag, else
# vX.Y.Z-dev+<commit>[.dirty], X.Y.Z from the VERSION file.
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
release=$(cat "$src/VERSION" 2>/dev/null) || die "$src/VERSION is missing"
dirty=""
[ -z "$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=.dirty
if [ -z "$dirty" ] && git -C "$src" tag --points-at HEAD 2>/dev/null | grep -qxF "v$release"; then
	version=v$release
else
	version=v$release-dev+$commit$dirty
fi
pkg=github.com/docker-werf/docker-werf
ldflags="-s -w -X $pkg/internal/version.Version=$version -X $pkg/internal/version.Commit=$commit"

tmp=$(mktemp -d) || die "cannot create a temporary directory"
trap 'rm -rf "$tmp"' EXIT INT TERM
for target in docker-werf:cli-plugin docker-credential-werf:credhelper; do
	name=${target%%:*}
	(cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go" build -trimpath -ldflags "$ldflags" \
		-o "$tmp/$name" "./${target#*:}") || die "building $name failed"
done

# place NAME DIR: install atomically, so a running docker never sees half a file.
place() {
	mkdir -p "$2" 2>/dev/null || die "cannot create $2: choose another directory (-b/-p) or run as a user who can write there"
	[ -w "$2" ] || die "cannot write to $2: choose another directory (-b/-p) or run as a user who can write there"
	cp "$tmp/$1" "$2/.$1.new" && chmod 0755 "$2/.$1.new" && mv -f "$2/.$1.new" "$2/$1" ||
		die "cannot install $1 into $2"
	echo "installed $2/$1"
}
place docker-werf "$plugindir"
place docker-credential-werf "$bindir"

case ":$PATH:" in
*":$bindir:"*) ;;
*) echo "note: $bindir is not on PATH; docker finds credential helpers through PATH, so add it:" >&2
	echo "  export PATH=\"$bindir:\$PATH\"" >&2 ;;
esac

if command -v docker >/dev/null 2>&1; then
	docker werf version || die "docker does not run the plugin from $plugindir"
fi
