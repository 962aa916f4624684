package main

import "testing"

func TestParseServeTracing(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		env       map[string]string
		wantURL   string // where spans go; "" for no tracing
		wantRatio float64
		err       string
	}{
		{"default: no tracing", []string{"--dev"}, nil, "", 1, ""},
		{"flag: /v1/traces added", []string{"--dev", "--otlp-endpoint", "http://127.0.0.1:4318"}, nil, "http://127.0.0.1:4318/v1/traces", 1, ""},
		{"environment", []string{"--dev"}, map[string]string{"MCPMESH_OTLP_ENDPOINT": "http://jaeger:4318/"}, "http://jaeger:4318/v1/traces", 1, ""},
		{"flag beats environment", []string{"--dev", "--otlp-endpoint", "https://a.example.com"}, map[string]string{"MCPMESH_OTLP_ENDPOINT": "http://b:4318"}, "https://a.example.com/v1/traces", 1, ""},
		{"a path is kept", []string{"--dev", "--otlp-endpoint", "https://otel.example.com/tenant/v1/traces"}, nil, "https://otel.example.com/tenant/v1/traces", 1, ""},
		{"ratio", []string{"--dev", "--otlp-sample-ratio", "0.25"}, nil, "", 0.25, ""},
		{"ratio from the environment", []string{"--dev"}, map[string]string{"MCPMESH_OTLP_SAMPLE_RATIO": "0"}, "", 0, ""},
		{"no scheme", []string{"--dev", "--otlp-endpoint", "127.0.0.1:4318"}, nil, "", 0, `--otlp-endpoint "127.0.0.1:4318" must be an absolute http or https URL`},
		{"not http", []string{"--dev", "--otlp-endpoint", "grpc://127.0.0.1:4317"}, nil, "", 0, `--otlp-endpoint "grpc://127.0.0.1:4317"`},
		{"a user", []string{"--dev", "--otlp-endpoint", "http://u:p@h:4318"}, nil, "", 0, "--otlp-endpoint"},
		{"ratio over 1", []string{"--dev", "--otlp-sample-ratio", "1.5"}, nil, "", 0, "--otlp-sample-ratio 1.5 must be from 0 to 1"},
		{"negative ratio", []string{"--dev", "--otlp-sample-ratio", "-0.1"}, nil, "", 0, "--otlp-sample-ratio -0.1 must be from 0 to 1"},
		{"NaN ratio", []string{"--dev", "--otlp-sample-ratio", "NaN"}, nil, "", 0, "--otlp-sample-ratio NaN must be from 0 to 1"},
		{"ratio not a number", []string{"--dev"}, map[string]string{"MCPMESH_OTLP_SAMPLE_RATIO": "half"}, "", 0, "MCPMESH_OTLP_SAMPLE_RATIO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseCase(t, tc.args, tc.env, tc.err)
			if cfg == nil {
				return
			}
			got := ""
			if cfg.Trace.Endpoint != "" {
				u, err := cfg.Trace.tracesURL()
				if err != nil {
					t.Fatal(err)
				}
				got = u
			}
			if got != tc.wantURL || cfg.Trace.SampleRatio != tc.wantRatio {
				t.Errorf("spans go to %q at ratio %v, want %q at %v", got, cfg.Trace.SampleRatio, tc.wantURL, tc.wantRatio)
			}
		})
	}
}
