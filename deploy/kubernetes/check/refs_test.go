package check

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// leaveTimeout is the node's bound on leaving the ring after the drain
// (cmd/mcpmesh/ring.go).
const leaveTimeout = 3 * time.Second

// container is the StatefulSet's mcpmesh container.
func (m manifests) container(t *testing.T) corev1.Container {
	t.Helper()
	cs := m.sts.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("the pod has %d containers, want 1", len(cs))
	}
	return cs[0]
}

// args are the container's --flag=value arguments by flag.
func args(t *testing.T, c corev1.Container) map[string]string {
	t.Helper()
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("container args %q; want serve first", c.Args)
	}
	out := map[string]string{}
	for _, a := range c.Args[1:] {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			t.Fatalf("argument %q: want --flag=value", a)
		}
		out[name] = value
	}
	return out
}

// port is the container port named name.
func port(t *testing.T, c corev1.Container, name string) corev1.ContainerPort {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no container port named %q", name)
	return corev1.ContainerPort{}
}

func selects(t *testing.T, what string, sel *metav1.LabelSelector, podLabels map[string]string) {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() || !s.Matches(labels.Set(podLabels)) {
		t.Errorf("%s selector %v does not select the pods (labels %v): %v", what, sel, podLabels, err)
	}
}

func TestStatefulSet(t *testing.T) {
	m := load(t)
	spec := m.sts.Spec
	if spec.Replicas == nil || *spec.Replicas != 3 || spec.PodManagementPolicy != "Parallel" {
		t.Errorf("replicas %v, podManagementPolicy %q; want 3, Parallel", spec.Replicas, spec.PodManagementPolicy)
	}
	if spec.ServiceName != m.gossip.Name {
		t.Errorf("serviceName %q; want the headless gossip Service %q", spec.ServiceName, m.gossip.Name)
	}
	selects(t, "StatefulSet", spec.Selector, spec.Template.Labels)
	c := m.container(t)
	a := args(t, c)
	if len(spec.VolumeClaimTemplates) != 1 || len(c.VolumeMounts) != 1 ||
		c.VolumeMounts[0].Name != spec.VolumeClaimTemplates[0].Name || c.VolumeMounts[0].MountPath != a["data-dir"] {
		t.Errorf("want one volumeClaimTemplate mounted at --data-dir %q; got %+v, mounts %+v", a["data-dir"], spec.VolumeClaimTemplates, c.VolumeMounts)
	}
	checkProbe(t, c, c.ReadinessProbe, "/ready")
	checkProbe(t, c, c.LivenessProbe, "/health")
	checkGrace(t, m, c, a)
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
			t.Errorf("no %s request", r)
		}
	}
	if sc := spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("the pod does not say runAsNonRoot")
	}
}

func checkProbe(t *testing.T, c corev1.Container, p *corev1.Probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
		t.Errorf("want an HTTP probe of %s; got %+v", path, p)
		return
	}
	if got := port(t, c, p.HTTPGet.Port.String()); got.ContainerPort != port(t, c, "http").ContainerPort {
		t.Errorf("probe of %s on port %v, not the http port", path, p.HTTPGet.Port)
	}
}

// checkGrace: a preStop hook delays SIGTERM (on which the node drains and
// leaves), and the grace period covers it, --drain-timeout and the leave.
func checkGrace(t *testing.T, m manifests, c corev1.Container, a map[string]string) {
	t.Helper()
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatalf("want a preStop sleep; got %+v", c.Lifecycle)
	}
	drain, err := time.ParseDuration(a["drain-timeout"])
	if err != nil {
		t.Fatalf("--drain-timeout %q: %v", a["drain-timeout"], err)
	}
	need := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second + drain + leaveTimeout
	grace := m.sts.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second < need {
		t.Errorf("terminationGracePeriodSeconds %v; want at least %s (preStop + --drain-timeout + leave)", grace, need)
	}
}

// TestJoinAndAdvertise: the node joins every address of the headless
// Service at the gossip port, advertises its own pod DNS name, and every
// $(VAR) in its arguments is defined.
func TestJoinAndAdvertise(t *testing.T) {
	m := load(t)
	c := m.container(t)
	a := args(t, c)
	gossipPort := strconv.Itoa(int(port(t, c, "gossip-tcp").ContainerPort))
	if udp := port(t, c, "gossip-udp"); udp.Protocol != corev1.ProtocolUDP || strconv.Itoa(int(udp.ContainerPort)) != gossipPort {
		t.Errorf("gossip-udp port %+v; want UDP on %s", udp, gossipPort)
	}
	domain := m.gossip.Name + ".$(POD_NAMESPACE).svc.cluster.local"
	want := map[string]string{
		"join":             "dns:" + domain + ":" + gossipPort,
		"gossip":           "0.0.0.0:" + gossipPort,
		"gossip-advertise": "$(POD_IP):" + gossipPort,
		"name":             "$(POD_NAME)",
	}
	for flag, v := range want {
		if a[flag] != v {
			t.Errorf("--%s=%q; want %q", flag, a[flag], v)
		}
	}
	_, httpPort, err := net.SplitHostPort(a["http"])
	if err != nil || httpPort != strconv.Itoa(int(port(t, c, "http").ContainerPort)) {
		t.Errorf("--http %q is not on the container's http port", a["http"])
	}
	u, err := url.Parse(a["advertise-url"])
	if err != nil || u.Host != "$(POD_NAME)."+domain+":"+httpPort {
		t.Errorf("--advertise-url %q; want http://$(POD_NAME).%s:%s", a["advertise-url"], domain, httpPort)
	}
	if hosts := a["allowed-hosts"]; !strings.Contains(","+hosts+",", ","+m.mcp.Name+",") {
		t.Errorf("--allowed-hosts %q lacks the MCP Service %q", hosts, m.mcp.Name)
	}
	checkVars(t, c)
}

// checkVars: each $(VAR) of the arguments is an env var of the container,
// the pod ones from the downward API.
func checkVars(t *testing.T, c corev1.Container) {
	t.Helper()
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	fields := map[string]string{"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace", "POD_IP": "status.podIP"}
	for _, v := range regexp.MustCompile(`\$\(([A-Z_]+)\)`).FindAllStringSubmatch(strings.Join(c.Args, " "), -1) {
		e, ok := env[v[1]]
		if !ok {
			t.Errorf("$(%s) is used in the arguments but not defined", v[1])
			continue
		}
		if f := fields[v[1]]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != f {
			t.Errorf("%s is not the downward API's %s: %+v", v[1], f, e)
		}
	}
}

// TestServices: both Services select the pods and name container ports;
// the gossip one is headless, publishes pods that are not ready, and
// carries gossip over TCP and UDP.
func TestServices(t *testing.T) {
	m := load(t)
	c := m.container(t)
	pod := m.sts.Spec.Template.Labels
	for _, s := range []corev1.Service{m.gossip, m.mcp} {
		selects(t, "Service "+s.Name, &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, pod)
		for _, p := range s.Spec.Ports {
			cp := port(t, c, p.TargetPort.String())
			if cp.ContainerPort != p.Port || cp.Protocol != p.Protocol {
				t.Errorf("Service %s port %s (%d/%s) targets %s (%d/%s)", s.Name, p.Name, p.Port, p.Protocol, cp.Name, cp.ContainerPort, cp.Protocol)
			}
		}
	}
	if !m.gossip.Spec.PublishNotReadyAddresses {
		t.Errorf("the gossip Service does not publish addresses of pods that are not ready: the first pod would wait for peers that cannot start")
	}
	protocols := map[corev1.Protocol]bool{}
	for _, p := range m.gossip.Spec.Ports {
		if p.TargetPort.String() == "gossip-tcp" || p.TargetPort.String() == "gossip-udp" {
			protocols[p.Protocol] = true
		}
	}
	if !protocols[corev1.ProtocolTCP] || !protocols[corev1.ProtocolUDP] {
		t.Errorf("the gossip Service carries %v; want TCP and UDP", protocols)
	}
	if len(m.mcp.Spec.Ports) != 1 || m.mcp.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("the MCP Service's ports %+v; want the http port", m.mcp.Spec.Ports)
	}
}

func TestPodDisruptionBudget(t *testing.T) {
	m := load(t)
	selects(t, "PodDisruptionBudget", m.pdb.Spec.Selector, m.sts.Spec.Template.Labels)
	if mu := m.pdb.Spec.MaxUnavailable; mu == nil || mu.IntValue() < 1 || mu.IntValue() >= int(*m.sts.Spec.Replicas)/2+1 {
		t.Errorf("maxUnavailable %v; want at least 1 and fewer than a majority of %d", mu, *m.sts.Spec.Replicas)
	}
}

// TestSecret: the JWT secret comes from the Secret that docs/deploy.md and
// kustomization.yaml tell how to create, under the env name serve reads.
func TestSecret(t *testing.T) {
	m := load(t)
	var ref *corev1.SecretKeySelector
	for _, e := range m.container(t).Env {
		if e.Name == "MCPMESH_JWT_SECRET" && e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
	}
	if ref == nil {
		t.Fatal("MCPMESH_JWT_SECRET is not taken from a Secret")
	}
	create := "kubectl create secret generic " + ref.Name + " --from-literal=" + ref.Key + "="
	for _, f := range []string{filepath.Join(dir, "kustomization.yaml"), filepath.Join(dir, "..", "..", "docs", "deploy.md")} {
		text, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(text), create) {
			t.Errorf("%s does not say %q (%v)", f, create, err)
		}
	}
}

// TestFlagsExist: every flag of the container's arguments is one that
// `mcpmesh serve` defines (cmd/mcpmesh/flags*.go).
func TestFlagsExist(t *testing.T) {
	m := load(t)
	files, _ := filepath.Glob(filepath.Join(dir, "..", "..", "cmd", "mcpmesh", "flags*.go"))
	var src strings.Builder
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			b, _ := os.ReadFile(f)
			src.Write(b)
		}
	}
	for flag := range args(t, m.container(t)) {
		if !regexp.MustCompile(`Var\(&f\.\w+, "` + regexp.QuoteMeta(flag) + `"`).MatchString(src.String()) {
			t.Errorf("--%s is not a flag of mcpmesh serve", flag)
		}
	}
}
