package main

import (
	"fmt"
	"strconv"
	"strings"
)

// Bounds of the byte-size flags (--max-catalog-bytes, --max-result-bytes).
const (
	minBoundBytes = 1 << 10
	maxBoundBytes = 1 << 30
)

// byteSize is a flag value in bytes: a number, optionally followed by KiB,
// MiB or GiB (or K, M, G: the same powers of 1024).
type byteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}}

func (b *byteSize) Set(s string) error {
	text, mult := strings.ToLower(strings.TrimSpace(s)), int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(text, u.suffix); ok {
			text, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || n > maxBoundBytes/mult+1 {
		return fmt.Errorf("%q is not a size such as 8388608, 512KiB or 8MiB", s)
	}
	*b = byteSize(n * mult)
	return nil
}

func (b *byteSize) String() string {
	switch n := int64(*b); {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	default:
		return strconv.FormatInt(n, 10)
	}
}

// checkBound refuses a byte bound outside [1 KiB, 1 GiB].
func checkBound(flagName string, n int64) error {
	if n < minBoundBytes || n > maxBoundBytes {
		return fmt.Errorf("%s %d must be from 1KiB to 1GiB", flagName, n)
	}
	return nil
}
