package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseServeAuditFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want auditConfig
		err  string
	}{
		{"defaults", []string{"--dev"}, nil, auditConfig{MaxMB: 100, Backups: 5, MaxRateLimiters: 50_000}, ""},
		{"flags", []string{"--dev", "--audit-log", "-", "--audit-log-max-mb", "7", "--audit-log-backups", "0", "--max-rate-limiters", "9"},
			nil, auditConfig{Log: "-", MaxMB: 7, MaxRateLimiters: 9}, ""},
		{"environment", []string{"--dev"}, map[string]string{"MCPMESH_AUDIT_LOG": "/var/log/a.log", "MCPMESH_AUDIT_LOG_MAX_MB": "3",
			"MCPMESH_AUDIT_LOG_BACKUPS": "2", "MCPMESH_MAX_RATE_LIMITERS": "4"}, auditConfig{Log: "/var/log/a.log", MaxMB: 3, Backups: 2, MaxRateLimiters: 4}, ""},
		{"flag beats environment", []string{"--dev", "--audit-log", "b.log"}, map[string]string{"MCPMESH_AUDIT_LOG": "a.log"},
			auditConfig{Log: "b.log", MaxMB: 100, Backups: 5, MaxRateLimiters: 50_000}, ""},
		{"zero size", []string{"--dev", "--audit-log-max-mb", "0"}, nil, auditConfig{}, "--audit-log-max-mb 0 must be positive"},
		{"negative backups", []string{"--dev", "--audit-log-backups", "-1"}, nil, auditConfig{}, "--audit-log-backups -1 must not be negative"},
		{"zero limiters", []string{"--dev", "--max-rate-limiters", "0"}, nil, auditConfig{}, "--max-rate-limiters 0 must be positive"},
		{"not a number", []string{"--dev"}, map[string]string{"MCPMESH_AUDIT_LOG_MAX_MB": "big"}, auditConfig{}, "MCPMESH_AUDIT_LOG_MAX_MB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseCase(t, tc.args, tc.env, tc.err)
			if cfg == nil {
				return
			}
			if cfg.Audit != tc.want {
				t.Errorf("audit config %+v, want %+v", cfg.Audit, tc.want)
			}
		})
	}
}

// TestAuditLogUnwritable: an audit log path that cannot be written is an
// error naming the flag, before the node serves.
func TestAuditLogUnwritable(t *testing.T) {
	a := auditConfig{Log: filepath.Join(t.TempDir(), "no-such-dir", "audit.log"), MaxMB: 1, Backups: 1}
	w, err := a.open()
	if err == nil || !strings.Contains(err.Error(), "--audit-log") || !strings.Contains(err.Error(), "no-such-dir") {
		t.Fatalf("open = %v, %v; want an error naming --audit-log and the path", w, err)
	}
}
