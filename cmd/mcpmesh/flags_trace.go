package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
)

// traceConfig is the tracing part of serve's flags (docs/tracing.md).
type traceConfig struct {
	// Endpoint is --otlp-endpoint: the OTLP/HTTP receiver spans are sent
	// to; "" for no tracing at all.
	Endpoint string
	// SampleRatio is --otlp-sample-ratio: the share of new traces kept
	// (a caller's sampled flag decides for the traces it continues).
	SampleRatio float64
}

// traceFlags are the flags of tracing.
func traceFlags(fs *flag.FlagSet, t *traceConfig) {
	fs.StringVar(&t.Endpoint, "otlp-endpoint", "", "send traces (OTLP over HTTP) to this URL, e.g. http://127.0.0.1:4318 (to <URL>/v1/traces when it has no path); default: no tracing")
	fs.Float64Var(&t.SampleRatio, "otlp-sample-ratio", 1, "share of new traces kept, 0 to 1 (a caller's traceparent decides for the traces it continues)")
}

// check validates the tracing flags.
func (t traceConfig) check() error {
	var errs []error
	if t.Endpoint != "" {
		if _, err := t.tracesURL(); err != nil {
			errs = append(errs, err)
		}
	}
	if !(t.SampleRatio >= 0 && t.SampleRatio <= 1) { // NaN too
		errs = append(errs, fmt.Errorf("--otlp-sample-ratio %v must be from 0 to 1", t.SampleRatio))
	}
	return errors.Join(errs...)
}

// tracesURL is where spans go: Endpoint, with /v1/traces when it has no
// path (as OTEL_EXPORTER_OTLP_ENDPOINT), or as it is when it has one.
func (t traceConfig) tracesURL() (string, error) {
	u, err := url.Parse(t.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--otlp-endpoint %q must be an absolute http or https URL such as http://127.0.0.1:4318 (no user, query or fragment)", t.Endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return strings.TrimSuffix(u.String(), "?"), nil
}
