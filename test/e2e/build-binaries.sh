#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl and etcd for the e2e suite from the Go module
# proxy, at the versions pinned in test/e2e/go/go.mod, into
#   test/e2e/.bin/<key>/   (key = sha256 of go.mod + go.sum + this script; git-ignored)
# and prints that directory as its LAST line of stdout. Skips the build when
# all four binaries are already there. Cold (empty Go caches) ~7 min on
# 2 cores; with a warm Go build cache (~/.cache/go-build) ~10-20 s.
#
# Integrity: go.sum is committed and every module zip / go.mod the build uses
# is checked against it (`go mod download`; -mod=readonly fails rather than
# editing go.mod/go.sum); `go mod verify` then re-hashes the extracted module
# cache. go.sum itself came from the public checksum database: sum.golang.org
# is not reachable from this network, but the module proxy mirrors it under
# <proxy>/sumdb/sum.golang.org/ and the go command uses that mirror on its
# own (it probes .../supported), so GOSUMDB stays on and nothing is exempted
# (GONOSUMDB/GOPRIVATE/GOINSECURE are cleared below).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../support/go-build.sh
source "$here/../support/go-build.sh"
gomod="$here/go"
# This script is part of the key too, so a change of build flags rebuilds.
key="$(cat "$gomod/go.mod" "$gomod/go.sum" "${BASH_SOURCE[0]}" "$here/../support/go-build.sh" | sha256sum | cut -c1-16)"
out="$here/.bin/$key"

have() { [[ -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" && -x "$out/kubectl" && -x "$out/etcd" ]]; }
reuse_or_lock "$here/.bin" "e2e binaries" "$out"
go_env build-binaries.sh

k8s_version="$(cd "$gomod" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
etcd_version="$(cd "$gomod" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
k8s_minor="$(echo "$k8s_version" | cut -d. -f2)"
# Version stamping so `kubectl version` / the apiserver's /version are truthful
# (otherwise they report v0.0.0-master and kubectl prints skew warnings).
vpkg=k8s.io/component-base/version
ldflags="-s -w \
 -X $vpkg.gitVersion=$k8s_version -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$k8s_minor \
 -X $vpkg.gitCommit= -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z \
 -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version \
 -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$k8s_minor"

tmp="$out.tmp.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

echo "building e2e binaries: kubernetes $k8s_version, etcd $etcd_version -> $out" >&2
start=$SECONDS
cd "$gomod"
go mod download # fetch (checked against go.sum) before compiling, timed separately
go mod verify >&2
echo "  modules ready: $((SECONDS - start))s" >&2

build() { # build <name> <package>
  local t=$SECONDS
  go build -trimpath -ldflags="$ldflags" -o "$tmp/$1" "$2"
  echo "  $1: $((SECONDS - t))s, $(du -h "$tmp/$1" | cut -f1)" >&2
}
build etcd ./etcd
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
# Only for suites that need Deployments to create pods (startCluster({ controllerManager: true })).
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kubectl k8s.io/kubernetes/cmd/kubectl

publish "$tmp" "$out"
echo "  total: $((SECONDS - start))s" >&2
echo "$out"
