package oracle

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/controllers/ipallocate"
	"istio.io/istio/pilot/pkg/features"
	"istio.io/istio/pilot/pkg/model"
	autoallocate "istio.io/istio/pilot/pkg/networking/serviceentry"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"
	"istio.io/istio/pkg/config/schema/gvr"
	dnsServer "istio.io/istio/pkg/dns/server"
	"istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/kube/kclient/clienttest"
	"istio.io/istio/pkg/test"
)

// SimulateRequest: ServiceEntries/DestinationRules as Kubernetes objects, the namespace of a DNS-capturing sidecar,
// the allocator ("istiod": PILOT_ENABLE_IP_AUTOALLOCATE, the default from 1.25; "legacy": the agent's
// ISTIO_META_DNS_AUTO_ALLOCATE with the feature off) and the host:port pairs to call.
type SimulateRequest struct {
	Objects   []json.RawMessage `json:"objects"`
	Namespace string            `json:"namespace"`
	Allocator string            `json:"allocator"`
	Probes    []Probe           `json:"probes"`
}

type Probe struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
}

type ProbeResult struct {
	Probe
	VIP      string `json:"vip,omitempty"`
	Listener string `json:"listener,omitempty"`
	Cluster  string `json:"cluster,omitempty"`
	// Outcome: "host" (the host's own cluster), "passthrough", "missing-cluster" (routed to a cluster not in CDS),
	// "other-cluster", "no-vip" (the sidecar's DNS does not answer the host) or "error" (Error says why).
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

type SimulateResult struct {
	// Names: the sidecar's DNS name table, host -> IPs it answers.
	Names    map[string][]string `json:"names"`
	Probes   []ProbeResult       `json:"probes"`
	Clusters []string            `json:"clusters"`
}

func simulate(t *testing.T, req SimulateRequest) SimulateResult {
	istiod := req.Allocator != "legacy"
	test.SetForTest(t, &features.EnableIPAutoallocate, istiod)
	objects := req.Objects
	if istiod {
		objects = allocateWithIstiod(t, objects)
	}
	docs := make([]string, 0, len(objects))
	for _, o := range objects {
		docs = append(docs, string(o))
	}
	configs, _, err := crd.ParseInputs(strings.Join(docs, "\n---\n"))
	if err != nil {
		t.Fatalf("objects not readable by Istio: %v", err)
	}
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{Configs: configs})
	ns := req.Namespace
	if ns == "" {
		ns = "default"
	}
	proxy := s.SetupProxy(&model.Proxy{
		ConfigNamespace: ns,
		Metadata: &model.NodeMetadata{
			Namespace:       ns,
			DNSCapture:      model.StringBool(true),
			DNSAutoAllocate: model.StringBool(!istiod),
		},
	})
	table := dnsServer.BuildNameTable(dnsServer.Config{Node: proxy, Push: s.PushContext()})
	names := map[string][]string{}
	for host, info := range table.GetTable() {
		names[host] = info.GetIps()
	}
	sim := simulation.NewSimulation(t, s, proxy)
	clusterNames := xdstest.MapKeys(xdstest.ExtractClusters(sim.Clusters))
	clusters := map[string]bool{}
	for _, c := range clusterNames {
		clusters[c] = true
	}
	out := SimulateResult{Names: names, Clusters: clusterNames}
	for _, p := range req.Probes {
		ips := names[p.Host]
		if len(ips) == 0 {
			out.Probes = append(out.Probes, ProbeResult{Probe: p, Outcome: "no-vip"})
			continue
		}
		for _, ip := range ips {
			out.Probes = append(out.Probes, probe(sim, clusters, p, ip))
		}
	}
	return out
}

func probe(sim *simulation.Simulation, clusters map[string]bool, p Probe, vip string) ProbeResult {
	call := simulation.Call{Address: vip, Port: p.Port, HostHeader: p.Host, Protocol: simulation.TCP, CallMode: simulation.CallModeOutbound}
	switch strings.ToUpper(p.Protocol) {
	case "HTTP", "HTTP2", "GRPC", "GRPC-WEB":
		call.Protocol = simulation.HTTP
	case "HTTPS", "TLS":
		call.Protocol = simulation.HTTP
		call.TLS = simulation.TLS
		call.Sni = p.Host
	}
	r := sim.Run(call)
	res := ProbeResult{Probe: p, VIP: vip, Listener: r.ListenerMatched, Cluster: r.ClusterMatched}
	switch {
	case r.Error != nil:
		res.Outcome, res.Error = "error", r.Error.Error()
	case !clusters[r.ClusterMatched]:
		res.Outcome = "missing-cluster"
	case r.ClusterMatched == fmt.Sprintf("outbound|%d||%s", p.Port, p.Host):
		res.Outcome = "host"
	case r.ClusterMatched == "PassthroughCluster":
		res.Outcome = "passthrough"
	default:
		res.Outcome = "other-cluster"
	}
	return res
}

// allocateWithIstiod runs istiod's IP autoallocation controller (pilot/pkg/controllers/ipallocate) over the
// ServiceEntries in a fake API server and returns the objects with the status addresses it wrote.
func allocateWithIstiod(t *testing.T, objects []json.RawMessage) []json.RawMessage {
	stop := test.NewStop(t)
	c := kube.NewFakeClient()
	clienttest.MakeCRD(t, c, gvr.ServiceEntry)
	alloc := ipallocate.NewIPAllocator(stop, c)
	type key struct{ ns, name string }
	entries := map[key]*networkingv1.ServiceEntry{}
	out := make([]json.RawMessage, len(objects))
	copy(out, objects)
	index := map[key]int{}
	for i, o := range objects {
		var kind struct {
			Kind string `json:"kind"`
		}
		_ = json.Unmarshal(o, &kind)
		if kind.Kind != "ServiceEntry" {
			continue
		}
		se := &networkingv1.ServiceEntry{}
		if err := json.Unmarshal(o, se); err != nil {
			t.Fatalf("ServiceEntry not readable: %v", err)
		}
		if se.Namespace == "" {
			se.Namespace = "default"
		}
		created, err := c.Istio().NetworkingV1().ServiceEntries(se.Namespace).Create(context.Background(), se, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create ServiceEntry: %v", err)
		}
		k := key{created.Namespace, created.Name}
		entries[k] = created
		index[k] = i
	}
	go alloc.Run(stop)
	c.RunAndWait(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		pending := 0
		for k, se := range entries {
			got, err := c.Istio().NetworkingV1().ServiceEntries(k.ns).Get(context.Background(), k.name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get ServiceEntry: %v", err)
			}
			entries[k] = got
			if autoallocate.ShouldV2AutoAllocateIP(se) && wantsAddress(got) && len(got.Status.Addresses) == 0 {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("istiod's allocator left %d ServiceEntries without addresses", pending)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for k, se := range entries {
		js, err := json.Marshal(se)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		out[index[k]] = js
	}
	return out
}

// wantsAddress: the allocator assigns to non-wildcard hosts, and to wildcard hosts only with DYNAMIC_DNS.
func wantsAddress(se *networkingv1.ServiceEntry) bool {
	for _, h := range se.Spec.Hosts {
		if !strings.HasPrefix(h, "*") || se.Spec.Resolution.String() == "DYNAMIC_DNS" {
			return true
		}
	}
	return false
}
