package main

import (
	"bytes"
	"net/http"
	"slices"
	"testing"
	"time"
)

// Benchmarks through real processes (`make bench`). They report latency
// percentiles and calls per second; nothing here asserts on timing.

// reportLatency reports p50/p99 in microseconds and sequential calls/s.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	var total time.Duration
	for _, d := range lat {
		total += d
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(len(lat))/total.Seconds(), "calls/s")
}

// BenchmarkToolsCallDemo: a plain POST tools/call of the demo echo tool
// through one node, as curl would send it.
func BenchmarkToolsCallDemo(b *testing.B) {
	n := startNode(b, nodeOptions{name: "bench", demo: true})
	body := mustJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": "echo", "arguments": map[string]any{"text": "bench"}}})
	client := &http.Client{Timeout: 30 * time.Second}
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodPost, n.mcpURL(), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+n.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatalf("tools/call: %v", err)
		}
		_, _ = new(bytes.Buffer).ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("tools/call: status %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatency(b, lat)
}
