//go:build tools

// Blank imports keep these packages (and their modules' versions) in go.mod /
// go.sum under `go mod tidy`. Never compiled: the "tools" tag is never set.
package tools

import (
	_ "istio.io/api/networking/v1" // only for its CRD YAML (see ../cluster.ts)
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
