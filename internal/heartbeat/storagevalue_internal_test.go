package heartbeat

import (
	"errors"
	"testing"
	"time"
)

// TestStorageValue: the storage attribute drops to 0 only once a backend has taken no
// record for a whole timeout, not on one failed write.
func TestStorageValue(t *testing.T) {
	const timeout = 5 * time.Second
	now := time.Minute
	failed := errors.New("EIO")
	for _, c := range []struct {
		name   string
		states []*backendState
		want   string
	}{
		{"all taking records", []*backendState{{ok: true, lastOK: now - time.Second}, {ok: true, lastOK: now}}, "1"},
		{"one write failed just now", []*backendState{{ok: false, err: failed, lastOK: now - time.Second}, {ok: true, lastOK: now}}, "1"},
		{"failing for a timeout", []*backendState{{ok: false, err: failed, lastOK: now - timeout}, {ok: true, lastOK: now}}, "0"},
		{"never took one", []*backendState{{ok: false, err: failed}, {ok: true, lastOK: now}}, "0"},
		{"slow but last write fine", []*backendState{{ok: true, lastOK: now - 2*timeout}}, "1"},
	} {
		if got := storageValue(c.states, now, timeout); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
