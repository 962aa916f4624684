package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/mcpmesh/mcpmesh/federation"
	"github.com/mcpmesh/mcpmesh/gateway"
)

// auditConfig is the audit log and rate limiter part of serve's flags.
type auditConfig struct {
	// Log is --audit-log: a file, "-" for standard output, "" for none.
	Log string
	// MaxMB and Backups bound the file: rotated at MaxMB megabytes,
	// Backups rotated files kept.
	MaxMB, Backups int
	// MaxRateLimiters bounds the rate limiters kept (principal, entry).
	MaxRateLimiters int
}

// auditFlags are the flags of the audit log and the rate limiter.
func auditFlags(fs *flag.FlagSet, a *auditConfig) {
	fs.StringVar(&a.Log, "audit-log", "", "write one JSON line per tools/call, prompts/get, resources/read and admin write to this file (- for standard output)")
	fs.IntVar(&a.MaxMB, "audit-log-max-mb", gateway.DefaultAuditMaxMB, "rotate the audit log file when it reaches this many megabytes")
	fs.IntVar(&a.Backups, "audit-log-backups", gateway.DefaultAuditBackups, "rotated audit log files kept (older ones are deleted)")
	fs.IntVar(&a.MaxRateLimiters, "max-rate-limiters", federation.DefaultMaxLimiters, "rate limiters (one per principal and tool with a rate) kept; past it the least recently used is dropped")
}

// check validates the audit and limiter flags.
func (a auditConfig) check() error {
	var errs []error
	if a.MaxMB <= 0 {
		errs = append(errs, fmt.Errorf("--audit-log-max-mb %d must be positive", a.MaxMB))
	}
	if a.Backups < 0 {
		errs = append(errs, fmt.Errorf("--audit-log-backups %d must not be negative", a.Backups))
	}
	if a.MaxRateLimiters <= 0 {
		errs = append(errs, fmt.Errorf("--max-rate-limiters %d must be positive", a.MaxRateLimiters))
	}
	return errors.Join(errs...)
}

// open opens the audit log's sink, nil when there is none.
func (a auditConfig) open() (io.WriteCloser, error) {
	if a.Log == "" {
		return nil, nil
	}
	w, err := gateway.OpenAudit(a.Log, a.MaxMB, a.Backups)
	if err != nil {
		return nil, fmt.Errorf("--audit-log: %w", err)
	}
	return w, nil
}
