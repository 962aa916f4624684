package check

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// dir holds the manifests.
const dir = ".."

// kustomization is the part of kustomization.yaml the check reads.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// manifests are the decoded objects of deploy/kubernetes.
type manifests struct {
	sts      appsv1.StatefulSet
	gossip   corev1.Service // the headless one
	mcp      corev1.Service
	pdb      policyv1.PodDisruptionBudget
	services []corev1.Service
}

// load decodes every manifest strictly (an unknown or misspelt field is
// an error) into its Kubernetes API type; kustomization.yaml must list
// every other .yaml file of the folder.
func load(t *testing.T) manifests {
	t.Helper()
	var k kustomization
	decodeFile(t, "kustomization.yaml", &k)
	if k.Kind != "Kustomization" || k.APIVersion != "kustomize.config.k8s.io/v1beta1" {
		t.Fatalf("kustomization.yaml is %s %s", k.APIVersion, k.Kind)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var others []string
	for _, f := range files {
		if name := filepath.Base(f); name != "kustomization.yaml" {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	if listed := slices.Sorted(slices.Values(k.Resources)); !slices.Equal(listed, others) {
		t.Fatalf("kustomization.yaml lists %v; the folder holds %v", listed, others)
	}
	var m manifests
	for _, f := range k.Resources {
		m.add(t, f)
	}
	for _, s := range m.services {
		if s.Spec.ClusterIP == corev1.ClusterIPNone {
			m.gossip = s
		} else {
			m.mcp = s
		}
	}
	if m.sts.Name == "" || m.gossip.Name == "" || m.mcp.Name == "" || m.pdb.Name == "" {
		t.Fatalf("want a StatefulSet, a headless Service, a Service and a PodDisruptionBudget; got %q %q %q %q",
			m.sts.Name, m.gossip.Name, m.mcp.Name, m.pdb.Name)
	}
	return m
}

// add decodes file by its kind.
func (m *manifests) add(t *testing.T, file string) {
	t.Helper()
	var tm metav1.TypeMeta
	raw := readFile(t, file)
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 StatefulSet":
		decode(t, file, raw, &m.sts)
	case "v1 Service":
		var s corev1.Service
		decode(t, file, raw, &s)
		m.services = append(m.services, s)
	case "policy/v1 PodDisruptionBudget":
		decode(t, file, raw, &m.pdb)
	default:
		t.Fatalf("%s: unexpected %s %s", file, tm.APIVersion, tm.Kind)
	}
}

func readFile(t *testing.T, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains("\n"+string(raw), "\n---") {
		t.Fatalf("%s: one object per file", file)
	}
	return raw
}

func decodeFile(t *testing.T, file string, v any) {
	t.Helper()
	decode(t, file, readFile(t, file), v)
}

// decode is strict: unknown fields and duplicate keys are errors.
func decode(t *testing.T, file string, raw []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(raw, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// TestStrictDecodingRefusesTypos: the check's decoding would catch a
// misspelt field.
func TestStrictDecodingRefusesTypos(t *testing.T) {
	var s appsv1.StatefulSet
	err := yaml.UnmarshalStrict([]byte("apiVersion: apps/v1\nkind: StatefulSet\nspec:\n  podManagmentPolicy: Parallel\n"), &s)
	if err == nil || !strings.Contains(err.Error(), "podManagmentPolicy") {
		t.Fatalf("a misspelt field decoded: %v", err)
	}
}

func TestManifestsDecode(t *testing.T) { load(t) }
