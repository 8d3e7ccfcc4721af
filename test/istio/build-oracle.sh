#!/usr/bin/env bash
# Builds the Istio oracle (test/istio/oracle: istiod's validating webhook, the sidecar injector's annotation
# handling and pilot's traffic simulation, all from istio.io/istio as pinned in test/istio/go.mod) into
#   test/istio/.bin/<key>/oracle.test   (key = sha256 of go.mod + go.sum + the oracle's sources + this script;
#                                        git-ignored)
# and prints that file's path as its LAST line of stdout. It is a Go test binary (`go test -c`) because pilot's
# simulator needs a *testing.T; run it with ISTIO_ORACLE=serve and -test.run '^TestOracle$'.
#
# Integrity as in test/e2e/build-binaries.sh: go.sum is committed and checked (-mod=readonly, `go mod verify`),
# GOSUMDB stays on (the proxy mirrors sum.golang.org), no VCS fallback, the toolchain on PATH.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../support/go-build.sh
source "$here/../support/go-build.sh"
key="$(cat "$here/go.mod" "$here/go.sum" "${BASH_SOURCE[0]}" "$here/../support/go-build.sh" $(find "$here/oracle" -name '*.go' | LC_ALL=C sort) |
  sha256sum | cut -c1-16)"
out="$here/.bin/$key"
bin="$out/oracle.test"

have() { [[ -x "$bin" ]]; }
reuse_or_lock "$here/.bin" "istio oracle" "$bin"
go_env build-oracle.sh

tmp="$out.tmp.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

echo "building the istio oracle: istio.io/istio $(cd "$here" && go list -m -f '{{.Version}}' istio.io/istio) -> $bin" >&2
start=$SECONDS
cd "$here"
go mod download
go mod verify >&2
echo "  modules ready: $((SECONDS - start))s" >&2
t=$SECONDS
go test -c -trimpath -ldflags="-s -w" -o "$tmp/oracle.test" ./oracle
echo "  oracle.test: $((SECONDS - t))s, $(du -h "$tmp/oracle.test" | cut -f1)" >&2

publish "$tmp" "$out"
echo "  total: $((SECONDS - start))s" >&2
echo "$bin"
