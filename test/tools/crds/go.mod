// Only for the CRD YAML in these module zips; no Go code is built from them. build-tools.sh downloads them with
// -mod=readonly (checked against go.sum) and copies the CRDs the chart's objects need:
//   prometheus-operator: example/prometheus-operator-crd (ServiceMonitor, PrometheusRule)
//   cert-manager:        deploy/crds (Issuer, ClusterIssuer, Certificate)
module egress-guard/tools-crds

go 1.26.0

require (
	github.com/cert-manager/cert-manager v1.21.2
	github.com/prometheus-operator/prometheus-operator v0.85.0
)
