package oracle

import (
	"encoding/json"

	"istio.io/api/annotation"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/kube/inject"
	"istio.io/istio/pkg/util/protomarshal"
)

// InjectResult is what the sidecar injector makes of a pod's proxy.istio.io/config annotation.
type InjectResult struct {
	Accepted bool   `json:"accepted"`
	Error    string `json:"error,omitempty"`
	// ProxyConfig is the mesh default ProxyConfig with the annotation applied, as the injector renders it.
	ProxyConfig   json.RawMessage   `json:"proxyConfig,omitempty"`
	ProxyMetadata map[string]string `json:"proxyMetadata"`
}

// injectAnnotation runs the injector's annotation check (the one RunTemplate runs before rendering) and then
// mesh.ApplyProxyConfig on the default mesh config, which is how the injector and istioctl read the annotation.
func injectAnnotation(value string) InjectResult {
	if err := inject.AnnotationValidation[annotation.ProxyConfig.Name](value); err != nil {
		return InjectResult{Error: err.Error()}
	}
	mc, err := mesh.ApplyProxyConfig(value, mesh.DefaultMeshConfig())
	if err != nil {
		return InjectResult{Error: err.Error()}
	}
	js, err := protomarshal.Marshal(mc.DefaultConfig)
	if err != nil {
		return InjectResult{Error: err.Error()}
	}
	md := mc.DefaultConfig.GetProxyMetadata()
	if md == nil {
		md = map[string]string{}
	}
	return InjectResult{Accepted: true, ProxyConfig: js, ProxyMetadata: md}
}
