//go:build tools

// Pins istio.io/istio (master of August 2026: the Go module proxy serves only pseudo-versions of it) for the
// programs under this module, which run Istio's own validation, injector and traffic simulation against
// egress-guard's verdicts. Blank imports keep the packages they use in go.mod and go.sum under `go mod tidy`.
package tools

import (
	_ "istio.io/istio/pilot/pkg/simulation"
	_ "istio.io/istio/pilot/test/xds"
	_ "istio.io/istio/pkg/config/validation"
	_ "istio.io/istio/pkg/dns/server"
	_ "istio.io/istio/pkg/kube/inject"
	_ "istio.io/istio/pkg/webhooks/validation/server"
)
