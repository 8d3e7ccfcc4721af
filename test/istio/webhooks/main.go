// Command webhooks serves Istio's own admission webhooks, built from the pinned istio.io/istio module, over HTTPS
// on the loopback interface, for the end-to-end suite:
//
//	/inject    the sidecar injector (pkg/kube/inject), as istiod's sidecarinjector.go sets it up
//	/validate  istiod's validating webhook (pkg/webhooks/validation/server), as istiod's validation.go sets it up
//
// Configuration comes from Istio's chart inside the same module, rendered by Istio's own installer
// (operator/pkg/render, what `istioctl manifest generate` runs; the way Istio's injector tests load it): the
// istio-sidecar-injector ConfigMap's "config" and "values" are written to files and read by inject.NewFileWatcher,
// exactly as istiod reads them from the mounted ConfigMap, and the "istio" ConfigMap's mesh config is applied over
// Istio's defaults. The chart's MutatingWebhookConfiguration and ValidatingWebhookConfigurations are rendered with
// clientConfig.url pointing here (the chart's istiodRemote.injectionURL / base.validationURL) and written to
// --webhooks-out for kubectl to apply.
//
// Not a cluster client: istiod's namespace, node and ProxyConfig informers are absent, so injection sees the
// mesh-wide defaults plus each pod's own annotations, and native sidecars stay off (no node client, as istiod
// without one decides).
package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"istio.io/istio/operator/pkg/render"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pkg/config/constants"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/mesh/meshwatcher"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/kube/inject"
	"istio.io/istio/pkg/kube/multicluster"
	"istio.io/istio/pkg/webhooks/validation/server"
)

type options struct {
	listen      string
	certFile    string
	keyFile     string
	caFile      string
	baseURL     string
	workDir     string
	webhooksOut string
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "HTTPS address; loopback only")
	flag.StringVar(&o.certFile, "cert", "", "serving certificate (PEM)")
	flag.StringVar(&o.keyFile, "key", "", "serving key (PEM)")
	flag.StringVar(&o.caFile, "ca", "", "CA that signed --cert; becomes the webhook configurations' caBundle")
	flag.StringVar(&o.baseURL, "url", "", "base URL the API server dials, e.g. https://127.0.0.1:9443")
	flag.StringVar(&o.workDir, "dir", "", "where the rendered injector config/values files go (as istiod's mounted ConfigMap)")
	flag.StringVar(&o.webhooksOut, "webhooks-out", "", "write the chart's webhook configurations (YAML) here")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "webhooks:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	for name, value := range map[string]string{"cert": o.certFile, "key": o.keyFile, "ca": o.caFile, "url": o.baseURL, "dir": o.workDir, "webhooks-out": o.webhooksOut} {
		if value == "" {
			return fmt.Errorf("--%s is required", name)
		}
	}
	if !strings.HasPrefix(o.listen, "127.0.0.1:") {
		return fmt.Errorf("--listen %q: only 127.0.0.1 is allowed", o.listen)
	}
	caPem, err := os.ReadFile(o.caFile)
	if err != nil {
		return err
	}
	chart, err := renderChart(strings.TrimSuffix(o.baseURL, "/"), base64.StdEncoding.EncodeToString(caPem))
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.webhooksOut, chart.webhooks, 0o644); err != nil {
		return err
	}

	mux := http.NewServeMux()
	stop := make(chan struct{})
	injector, err := newInjector(mux, chart, o.workDir)
	if err != nil {
		return err
	}
	injector.Run(stop)
	// The same options istiod's bootstrap (pilot/pkg/bootstrap/validation.go) passes.
	if _, err := server.New(server.Options{
		Schemas:      collections.PilotGatewayAPI(),
		DomainSuffix: constants.DefaultClusterLocalDomain,
		Mux:          mux,
	}); err != nil {
		return fmt.Errorf("validation webhook: %v", err)
	}
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })

	cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              o.listen,
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		close(stop)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	fmt.Printf("serving /inject and /validate on https://%s\n", o.listen)
	if err := srv.ListenAndServeTLS("", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// renderedChart is what istiod and kubectl would get from an installation of the chart.
type renderedChart struct {
	injectorConfig string // ConfigMap istio-sidecar-injector, key "config"
	injectorValues string // ConfigMap istio-sidecar-injector, key "values"
	meshConfig     string // ConfigMap istio, key "mesh"
	webhooks       []byte // the MutatingWebhookConfiguration and ValidatingWebhookConfigurations, as a YAML List
}

// renderChart renders base + istiod (the minimal profile) with the chart's own settings for webhooks served at a
// URL: istiodRemote.injectionURL / injectionCABundle and base.validationURL / validationCABundle.
func renderChart(baseURL, caBundle string) (*renderedChart, error) {
	set := []string{
		"profile=minimal",
		// As `helm install istio-base` does by default: istiod-default-validator, for objects of every revision.
		"values.defaultRevision=default",
		"values.istiodRemote.injectionURL=" + baseURL + "/inject",
		"values.istiodRemote.injectionCABundle=" + caBundle,
		"values.base.validationURL=" + baseURL + "/validate",
		"values.base.validationCABundle=" + caBundle,
	}
	sets, _, err := render.GenerateManifest(nil, set, false, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("rendering Istio's chart: %v", err)
	}
	out := &renderedChart{}
	var webhooks []map[string]any
	for _, s := range sets {
		for _, m := range s.Manifests {
			data, _ := m.Object["data"].(map[string]any)
			switch {
			case m.GetKind() == "ConfigMap" && m.GetName() == "istio-sidecar-injector":
				out.injectorConfig, _ = data["config"].(string)
				out.injectorValues, _ = data["values"].(string)
			case m.GetKind() == "ConfigMap" && m.GetName() == "istio":
				out.meshConfig, _ = data["mesh"].(string)
			case m.GetKind() == "MutatingWebhookConfiguration" || m.GetKind() == "ValidatingWebhookConfiguration":
				webhooks = append(webhooks, m.Object)
			}
		}
	}
	if out.injectorConfig == "" || out.injectorValues == "" || out.meshConfig == "" || len(webhooks) == 0 {
		return nil, errors.New("the rendered chart lacks the istio-sidecar-injector or istio ConfigMap, or the webhook configurations")
	}
	out.webhooks, err = yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": webhooks})
	return out, err
}

// newInjector sets the injector up the way pilot/pkg/bootstrap/sidecarinjector.go does with a mounted ConfigMap.
func newInjector(mux *http.ServeMux, chart *renderedChart, dir string) (*inject.Webhook, error) {
	configFile := filepath.Join(dir, "config")
	valuesFile := filepath.Join(dir, "values")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(configFile, []byte(chart.injectorConfig), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(valuesFile, []byte(chart.injectorValues), 0o644); err != nil {
		return nil, err
	}
	watcher, err := inject.NewFileWatcher(configFile, valuesFile)
	if err != nil {
		return nil, err
	}
	meshConfig, err := mesh.ApplyMeshConfigDefaults(chart.meshConfig)
	if err != nil {
		return nil, fmt.Errorf("mesh config of the chart: %v", err)
	}
	env := &model.Environment{Watcher: meshwatcher.NewTestWatcher(meshConfig), ConfigStore: model.NewFakeStore()}
	// No ProxyConfig resources: the mesh's defaultConfig and each pod's proxy.istio.io/config decide.
	env.SetPushContext(&model.PushContext{ProxyConfigs: model.GetProxyConfigs(env.ConfigStore, meshConfig)})
	return inject.NewWebhook(inject.WebhookParameters{
		Watcher:      watcher,
		Env:          env,
		Mux:          mux,
		MultiCluster: multicluster.NewFakeController(),
	})
}
