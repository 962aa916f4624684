package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mcpmesh/mcpmesh/internal/wait"
)

// Jaeger (scripts/bin/jaeger, built by `make jaeger` from scripts/jaeger)
// is the real trace receiver of TestTraceAcrossHop, configured by
// scripts/jaeger/config.yaml: OTLP over HTTP in, the query API out, traces
// in memory, every port on loopback.

// jaegerBin is where `make jaeger` puts the binary, from this package.
var jaegerBin = filepath.Join("..", "..", "scripts", "bin", "jaeger")

// jaeger is one running Jaeger: where spans go and where they are read.
type jaeger struct {
	otlp  string // OTLP/HTTP receiver base URL, e.g. http://127.0.0.1:PORT
	query string // query API base URL
}

// startJaeger runs Jaeger on free loopback ports until the test ends. A
// missing binary fails the test: `make jaeger` builds it.
func startJaeger(t testing.TB) *jaeger {
	t.Helper()
	bin, err := filepath.Abs(jaegerBin)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		t.Fatalf("Jaeger is not built (%v): run `make jaeger` (it builds scripts/bin/jaeger once, in about 6 minutes)", err)
	}
	config, err := filepath.Abs(filepath.Join("..", "..", "scripts", "jaeger", "config.yaml"))
	if err != nil {
		t.Fatalf("Jaeger config: %v", err)
	}
	for attempt := 0; ; attempt++ {
		otlp, query := freeAddr(t), freeAddr(t)
		env := []string{"JAEGER_OTLP_HTTP=" + otlp, "JAEGER_QUERY_HTTP=" + query, "JAEGER_QUERY_GRPC=" + freeAddr(t)}
		p := startProcEnv(t, "jaeger", env, bin, "--config", config)
		j := &jaeger{otlp: "http://" + otlp, query: "http://" + query}
		wait.For(t, 30*time.Second, func() bool { return p.exited() || (dialable(otlp) && j.answers()) },
			"Jaeger to take OTLP on %s and queries on %s (%s):\n%s", otlp, query, wait.Later(func() any { return p.exitText() }), p.out)
		if !p.exited() {
			return j
		}
		if attempt == 2 {
			t.Fatalf("Jaeger did not start (%s):\n%s", p.exitText(), p.out.String())
		}
	}
}

// answers reports whether the query API answers.
func (j *jaeger) answers() bool {
	resp, err := http.Get(j.query + "/api/services")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// jaegerSpan is a span as Jaeger's query API (/api/traces/{id}) gives it.
type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
		TraceID string `json:"traceID"`
	} `json:"references"`
	ProcessID string `json:"processID"`
	Tags      []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"tags"`
	service string // the process's service name, filled by trace
}

// tag is the span's tag key as text ("" when absent).
func (s jaegerSpan) tag(key string) string {
	for _, tg := range s.Tags {
		if tg.Key == key {
			return fmt.Sprint(tg.Value)
		}
	}
	return ""
}

// parent is the span's CHILD_OF reference ("" for a root).
func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// trace reads trace id from the query API: its spans, each with its
// service name (none while Jaeger has not got it).
func (j *jaeger) trace(t testing.TB, id string) []jaegerSpan {
	t.Helper()
	resp, err := http.Get(j.query + "/api/traces/" + id)
	if err != nil {
		t.Fatalf("Jaeger query API: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			Spans     []jaegerSpan `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Jaeger query API /api/traces/%s: status %d, %v", id, resp.StatusCode, err)
	}
	var spans []jaegerSpan
	for _, d := range body.Data {
		for _, s := range d.Spans {
			s.service = d.Processes[s.ProcessID].ServiceName
			spans = append(spans, s)
		}
	}
	return spans
}

// waitTrace polls trace id until has holds of its spans.
func (j *jaeger) waitTrace(t testing.TB, id string, has func([]jaegerSpan) bool) []jaegerSpan {
	t.Helper()
	var spans []jaegerSpan
	wait.For(t, 20*time.Second, func() bool {
		spans = j.trace(t, id)
		return has(spans)
	}, "Jaeger to hold trace %s with the spans wanted; it holds: %v", id, wait.Later(func() any { return spanNames(spans) }))
	return spans
}

// spanNames are "service: operation" of spans, for failure messages.
func spanNames(spans []jaegerSpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.service+": "+s.OperationName)
	}
	slices.Sort(out)
	return out
}
