package oracle

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// Lines the oracle answers with start with this marker: Istio's packages and the testing package print their
// own lines on stdout too, and the client skips those.
const marker = "@@oracle "

type request struct {
	ID         int              `json:"id"`
	Op         string           `json:"op"`
	Object     json.RawMessage  `json:"object,omitempty"`
	Operation  string           `json:"operation,omitempty"`
	Annotation string           `json:"annotation,omitempty"`
	Simulate   *SimulateRequest `json:"simulate,omitempty"`
}

type response struct {
	ID       int             `json:"id"`
	Error    string          `json:"error,omitempty"`
	Validate *ValidateResult `json:"validate,omitempty"`
	Inject   *InjectResult   `json:"inject,omitempty"`
	Simulate *SimulateResult `json:"simulate,omitempty"`
}

// TestOracle answers JSON requests, one a line on stdin, with one marked JSON line each on stdout. It runs only
// when ISTIO_ORACLE=serve, so a plain `go test` of this package does not wait on stdin.
func TestOracle(t *testing.T) {
	if os.Getenv("ISTIO_ORACLE") != "serve" {
		t.Skip("set ISTIO_ORACLE=serve to answer requests on stdin")
	}
	v, err := newValidator()
	if err != nil {
		t.Fatal(err)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := os.Stdout
	for in.Scan() {
		var req request
		var res response
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			res.Error = fmt.Sprintf("request is not JSON: %v", err)
		} else {
			res = answer(t, v, req)
		}
		line, _ := json.Marshal(res)
		if _, err := fmt.Fprintf(out, "%s%s\n", marker, line); err != nil {
			return
		}
	}
}

func answer(t *testing.T, v *validator, req request) response {
	res := response{ID: req.ID}
	switch req.Op {
	case "validate":
		r, err := v.validate(req.Object, req.Operation)
		if err != nil {
			res.Error = err.Error()
		} else {
			res.Validate = &r
		}
	case "inject":
		r := injectAnnotation(req.Annotation)
		res.Inject = &r
	case "simulate":
		if req.Simulate == nil {
			res.Error = "simulate request without 'simulate'"
			break
		}
		// A subtest per request: a t.Fatal inside Istio's fakes ends that request only.
		var r SimulateResult
		ok := t.Run(fmt.Sprintf("simulate-%d", req.ID), func(t *testing.T) { r = simulate(t, *req.Simulate) })
		if ok {
			res.Simulate = &r
		} else {
			res.Error = "simulation failed (see the oracle's stdout)"
		}
	default:
		res.Error = fmt.Sprintf("unknown op %q", req.Op)
	}
	return res
}
