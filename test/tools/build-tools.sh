#!/usr/bin/env bash
# Builds the chart and monitoring tools from the Go module proxy, each at the version pinned by
# its own module (so each binary links exactly its upstream's dependency set):
#   helm/go.mod         helm.sh/helm/v4/cmd/helm
#   kubeconform/go.mod  github.com/yannh/kubeconform/cmd/kubeconform
#   promtool/go.mod     github.com/prometheus/prometheus/cmd/promtool
#   crds/go.mod         github.com/prometheus-operator/prometheus-operator and github.com/cert-manager/cert-manager
#                       (their CRD YAML only, copied to <key>/crds/)
# into test/tools/.bin/<key>/ (key = sha256 of every go.mod/go.sum + this script; git-ignored) and
# prints that directory as its LAST line of stdout.
# Same integrity rules as test/e2e/build-binaries.sh: go.sum committed and checked, -mod=readonly,
# no VCS fallback, local toolchain.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../support/go-build.sh
source "$here/../support/go-build.sh"
mods=(helm kubeconform promtool crds)
key="$(for m in "${mods[@]}"; do cat "$here/$m/go.mod" "$here/$m/go.sum"; done | cat - "${BASH_SOURCE[0]}" "$here/../support/go-build.sh" | sha256sum | cut -c1-16)"
out="$here/.bin/$key"

have() { [[ -x "$out/helm" && -x "$out/kubeconform" && -x "$out/promtool" && -d "$out/crds" ]]; }
reuse_or_lock "$here/.bin" "chart tools" "$out"
go_env build-tools.sh

tmp="$out.tmp.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS

version() { (cd "$here/$1" && go list -m -f '{{.Version}}' "$2"); }
build() { # build <module dir> <binary> <package> <module path> <ldflags> [<build tags>]
  local t=$SECONDS
  (cd "$here/$1" && go mod download && go build -trimpath -tags="${6:-}" -ldflags="-s -w $5" -o "$tmp/$2" "$3")
  echo "  $2 $(version "$1" "$4"): $((SECONDS - t))s, $(du -h "$tmp/$2" | cut -f1)" >&2
}

echo "building chart tools -> $out" >&2
helm_v="$(version helm helm.sh/helm/v4)"
build helm helm helm.sh/helm/v4/cmd/helm helm.sh/helm/v4 \
  "-X helm.sh/helm/v4/internal/version.version=$helm_v -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
build kubeconform kubeconform github.com/yannh/kubeconform/cmd/kubeconform github.com/yannh/kubeconform ""
prom_v="$(version promtool github.com/prometheus/prometheus)"
# remove_all_sd (Prometheus' documented build tag) leaves out the cloud service discoveries (Azure, AWS, GCE...),
# most of promtool's compile time; rule tests and metric checks do not use them.
build promtool promtool github.com/prometheus/prometheus/cmd/promtool github.com/prometheus/prometheus \
  "-X github.com/prometheus/common/version.Version=${prom_v#v}" remove_all_sd

# CRDs of the kinds the chart can render, from the module zips (checked against crds/go.sum).
module_dir() { (cd "$here/crds" && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'); }
mkdir -p "$tmp/crds"
op="$(module_dir github.com/prometheus-operator/prometheus-operator)"
cp "$op"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml "$tmp/crds/"
cm="$(module_dir github.com/cert-manager/cert-manager)"
cp "$cm"/deploy/crds/cert-manager.io_{certificates,issuers,clusterissuers}.yaml "$tmp/crds/"
chmod -R u+w "$tmp/crds"
echo "  crds: $(ls "$tmp/crds" | tr '\n' ' ')" >&2

publish "$tmp" "$out"
echo "  total: $((SECONDS - start))s" >&2
echo "$out"
