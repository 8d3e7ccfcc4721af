#!/usr/bin/env bash
# Builds ./ (Istio's sidecar injector and validating webhook, from the istio.io/istio pinned in ../go.mod) into
#   test/istio/webhooks/.bin/<key>/webhooks   (key = sha256 of ../go.mod + ../go.sum + the Go sources + this
#   script; git-ignored)
# and prints that path as its LAST line of stdout. Skips the build when it is already there.
# Same rules as test/e2e/build-binaries.sh: modules only from the proxy, checked against the committed go.sum,
# -mod=readonly, the Go toolchain on PATH, concurrent callers serialised by flock.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$(dirname "$here")"
key="$(cat "$module/go.mod" "$module/go.sum" "$here"/*.go "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
out="$here/.bin/$key"
bin="$out/webhooks"

if [[ -x "$bin" ]]; then
  echo "Istio webhooks binary up to date" >&2
  echo "$bin"
  exit 0
fi

mkdir -p "$here/.bin"
exec 9>"$here/.bin/.lock"
flock 9
if [[ -x "$bin" ]]; then
  echo "Istio webhooks binary up to date" >&2
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: 'go' not found on PATH" >&2; exit 1; }
export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
export GOPROXY="${GOPROXY%%,direct}"
export GOSUMDB="${GOSUMDB:-sum.golang.org}"
export GONOSUMDB="" GOPRIVATE="" GOINSECURE=""
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0
export GOTOOLCHAIN=local

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

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
for d in "$here/.bin"/*/; do
  [[ "${d%/}" == "$out" ]] || rm -rf "${d%/}"
done
echo "$bin"
