package heartbeat

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kvmha/kvmha/internal/files"
)

// State is what the daemon publishes in its state file after every beat:
// HostHeartbeat's monitor, fence_kvmha and "kvmha heartbeat status" read
// it. Times ending in _ns are BootTime values.
type State struct {
	PID         int           `json:"pid"`
	Node        string        `json:"node"`
	Incarnation uint64        `json:"inc"`
	Seq         uint64        `json:"seq"`
	Phase       string        `json:"phase"`
	WrittenAt   time.Duration `json:"written_at_ns"`
	Wall        time.Time     `json:"wall"`
	Interval    Duration      `json:"interval"`
	Timeout     Duration      `json:"timeout"`
	// Healthy: a quorum of backends took the record within Timeout.
	Healthy bool `json:"healthy"`
	Quorum  int  `json:"quorum"`
	// LastHealthy is when the last beat reached a quorum, 0 for never.
	LastHealthy     time.Duration  `json:"last_healthy_ns"`
	Backends        []BackendState `json:"backends"`
	Watchdog        string         `json:"watchdog"`
	WatchdogArmed   bool           `json:"watchdog_armed"`
	WatchdogTimeout Duration       `json:"watchdog_timeout"`
	Fence           *Ack           `json:"fence,omitempty"`
	Peers           []PeerState    `json:"peers,omitempty"`
}

// Daemon phases.
const (
	PhaseStarting = "starting" // no quorum yet, the watchdog not armed
	PhaseRunning  = "running"
	PhaseFencing  = "fencing"
	PhaseStopping = "stopping"
)

// BackendState is the daemon's view of one of its backends.
type BackendState struct {
	URI string `json:"uri"`
	// OK: its last beat (write and message read) succeeded.
	OK     bool          `json:"ok"`
	LastOK time.Duration `json:"last_ok_ns"`
	Error  string        `json:"error,omitempty"`
}

// PeerState is what the daemon saw of another host.
type PeerState struct {
	Node      string     `json:"node"`
	Sightings []Sighting `json:"sightings"`
	Record    *Record    `json:"record,omitempty"`
}

// WriteState publishes s in dir, atomically and durably.
func WriteState(dir string, s *State) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return files.WriteAtomic(StatePath(dir), data, 0o644)
}

// Bounds of a state read. The state holds the peers' records (at most RecordSize each);
// the directory may be a parameter or flag pointing anywhere.
const (
	maxStateSize     = 8 << 20
	stateReadTimeout = 2 * time.Second
)

// ReadState reads the state file in dir: a regular file, bounded in size and time.
func ReadState(dir string) (*State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), stateReadTimeout)
	defer cancel()
	return ReadStateContext(ctx, dir)
}

// ReadStateContext is ReadState bounded by ctx instead of its own two seconds.
func ReadStateContext(ctx context.Context, dir string) (*State, error) {
	data, err := files.Read(ctx, StatePath(dir), maxStateSize)
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", StatePath(dir), err)
	}
	return &s, nil
}

// Age is how long ago (on BootTime) the state was written.
func (s *State) Age(now time.Duration) time.Duration { return now - s.WrittenAt }

// Fresh says whether the daemon wrote s recently enough to be trusted as
// alive: within three intervals, and at least two seconds.
func (s *State) Fresh(now time.Duration) bool {
	return s.Age(now) < max(3*s.Interval.D(), 2*time.Second)
}

// SightingsOf returns the daemon's sightings of node.
func (s *State) SightingsOf(node string) []Sighting {
	for _, p := range s.Peers {
		if p.Node == node {
			return p.Sightings
		}
	}
	return nil
}
