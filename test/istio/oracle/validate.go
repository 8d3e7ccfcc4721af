package oracle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/webhooks/validation/server"
)

// ValidateResult is istiod's validating webhook's answer for one object.
type ValidateResult struct {
	Allowed  bool     `json:"allowed"`
	Message  string   `json:"message,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// validator serves istiod's own validation webhook (same schemas and domain as pilot/pkg/bootstrap/validation.go)
// on an in-process mux, so each object goes through the HTTP handler istiod registers at /validate.
type validator struct{ mux *http.ServeMux }

func newValidator() (*validator, error) {
	mux := http.NewServeMux()
	if _, err := server.New(server.Options{Schemas: collections.PilotGatewayAPI(), DomainSuffix: "cluster.local", Mux: mux}); err != nil {
		return nil, err
	}
	return &validator{mux: mux}, nil
}

func (v *validator) validate(object json.RawMessage, operation string) (ValidateResult, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(object, &meta); err != nil {
		return ValidateResult{}, fmt.Errorf("object is not JSON: %v", err)
	}
	if operation == "" {
		operation = "CREATE"
	}
	group, version := splitAPIVersion(meta.APIVersion)
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "oracle",
			Kind:      metav1.GroupVersionKind{Group: group, Version: version, Kind: meta.Kind},
			Name:      meta.Metadata.Name,
			Namespace: meta.Metadata.Namespace,
			Operation: admissionv1.Operation(operation),
			Object:    runtime.RawExtension{Raw: object},
		},
	}
	body, err := json.Marshal(review)
	if err != nil {
		return ValidateResult{}, err
	}
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	v.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return ValidateResult{}, fmt.Errorf("validation webhook answered HTTP %d: %s", rec.Code, rec.Body.String())
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		return ValidateResult{}, fmt.Errorf("undecodable webhook answer %q: %v", rec.Body.String(), err)
	}
	res := ValidateResult{Allowed: out.Response.Allowed, Warnings: out.Response.Warnings}
	if out.Response.Result != nil {
		res.Message = out.Response.Result.Message
	}
	return res, nil
}

func splitAPIVersion(apiVersion string) (string, string) {
	for i := len(apiVersion) - 1; i >= 0; i-- {
		if apiVersion[i] == '/' {
			return apiVersion[:i], apiVersion[i+1:]
		}
	}
	return "", apiVersion
}
