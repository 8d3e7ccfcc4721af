#!/usr/bin/env bash
# Builds ./ (Istio's sidecar injector and validating webhook, from the istio.io/istio pinned in ../go.mod) into
#   test/istio/webhooks/.bin/<key>/webhooks   (key = sha256 of ../go.mod + ../go.sum + the Go sources + this
#   script; git-ignored)
# and prints that path as its LAST line of stdout. Skips the build when it is already there.
# Same rules as test/e2e/build-binaries.sh: modules only from the proxy, checked against the committed go.sum,
# -mod=readonly, the Go toolchain on PATH, concurrent callers serialised by flock.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../support/go-build.sh
source "$here/../../support/go-build.sh"
module="$(dirname "$here")"
key="$(cat "$module/go.mod" "$module/go.sum" "$here"/*.go "${BASH_SOURCE[0]}" "$module/../support/go-build.sh" | sha256sum | cut -c1-16)"
out="$here/.bin/$key"
bin="$out/webhooks"

have() { [[ -x "$bin" ]]; }
reuse_or_lock "$here/.bin" "Istio webhooks binary" "$bin"
go_env build.sh

istio_version="$(cd "$module" && go list -m -f '{{.Version}}' istio.io/istio)"
echo "building Istio webhooks: istio.io/istio $istio_version -> $bin" >&2
start=$SECONDS
tmp="$out.tmp.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
cd "$module"
go mod download istio.io/istio
echo "  modules ready: $((SECONDS - start))s" >&2
go build -trimpath -ldflags="-s -w" -o "$tmp/webhooks" ./webhooks
echo "  webhooks: $((SECONDS - start))s, $(du -h "$tmp/webhooks" | cut -f1)" >&2

publish "$tmp" "$out"
echo "$bin"
