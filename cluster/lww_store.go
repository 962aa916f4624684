package cluster

import (
	"strings"
	"time"
)

// load reads the records persisted in the store; a record that cannot be
// read is skipped with a warning. The clock is moved past every version.
// The state is then settled (see lwwHooks.settleLocked); the tombstones
// that makes are persisted by the next flush.
func (r *lwwRegistry[R]) load() error {
	if r.st == nil {
		return nil
	}
	if err := r.st.Scan(r.spec.prefix, r.loadOne); err != nil {
		return err
	}
	for _, t := range r.settleMadeLocked(nil) {
		r.unstored[t.head().name] = struct{}{}
	}
	return nil
}

// loadOne merges the stored record value of key.
func (r *lwwRegistry[R]) loadOne(key string, value []byte) error {
	rec, err := r.spec.decode(value)
	if err == nil && key != r.spec.prefix+rec.head().name {
		err = r.spec.invalid
	}
	if err != nil {
		r.log.Warn("skipped an unreadable stored "+r.spec.what, "key", strings.ToValidUTF8(key, "?"), "err", err)
		return nil
	}
	r.applyLocked(rec)
	r.clock.Update(rec.head().version)
	return nil
}

// setNow replaces the registry's wall clock (tests).
func (r *lwwRegistry[R]) setNow(now func() time.Time) {
	r.now = now
	r.clock = NewClock(now)
}
