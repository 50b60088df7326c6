// Package heartbeattest is an in-memory heartbeat backend for tests: a store several hosts
// share, each through its own view with its own injected faults (a failing or hung
// operation), the way hosts share a pool but can each lose their path to it, and other
// hosts' heartbeat daemons writing their records to it (Host). Only tests import it.
package heartbeattest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/heartbeat"
)

// MemoryStore is an in-memory backend's storage: several hosts' views
// (MemoryStore.View) share it, each with its own injected faults.
type MemoryStore struct {
	uri string

	mu       sync.Mutex
	records  map[string][]byte
	messages map[string][]byte
	hosts    map[string]bool
}

// NewMemoryStore returns an empty store; uri is what its views report.
func NewMemoryStore(uri string) *MemoryStore {
	return &MemoryStore{uri: uri, records: map[string][]byte{}, messages: map[string][]byte{}, hosts: map[string]bool{}}
}

// URI is what the store's views report.
func (s *MemoryStore) URI() string { return s.uri }

// Op names a backend operation, for fault injection.
type Op string

// Backend operations.
const (
	OpRegister     Op = "register"
	OpWriteRecord  Op = "write-record"
	OpReadRecord   Op = "read-record"
	OpWriteMessage Op = "write-message"
	OpReadMessage  Op = "read-message"
	OpHosts        Op = "hosts"
)

var allOps = []Op{OpRegister, OpWriteRecord, OpReadRecord, OpWriteMessage, OpReadMessage, OpHosts}

// MemoryView is one host's heartbeat.Backend on a MemoryStore.
type MemoryView struct {
	store *MemoryStore

	mu    sync.Mutex
	fail  map[Op]error
	hang  map[Op]bool
	calls map[Op]int
}

// View returns a new view without faults.
func (s *MemoryStore) View() *MemoryView {
	return &MemoryView{store: s, fail: map[Op]error{}, hang: map[Op]bool{}, calls: map[Op]int{}}
}

// Fail makes ops (all when none given) return err; nil clears.
func (v *MemoryView) Fail(err error, ops ...Op) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(ops) == 0 {
		ops = allOps
	}
	for _, op := range ops {
		v.fail[op] = err
	}
}

// Hang makes ops (all when none given) block until their context ends.
func (v *MemoryView) Hang(on bool, ops ...Op) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(ops) == 0 {
		ops = allOps
	}
	for _, op := range ops {
		v.hang[op] = on
	}
}

// Calls counts the calls of op so far.
func (v *MemoryView) Calls(op Op) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls[op]
}

func (v *MemoryView) enter(ctx context.Context, op Op) error {
	v.mu.Lock()
	v.calls[op]++
	err, hang := v.fail[op], v.hang[op]
	v.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (v *MemoryView) URI() string { return v.store.uri }

func (v *MemoryView) Register(ctx context.Context, node string) error {
	if err := v.enter(ctx, OpRegister); err != nil {
		return err
	}
	v.store.mu.Lock()
	defer v.store.mu.Unlock()
	v.store.hosts[node] = true
	return nil
}

// checkWrite refuses what the real backends refuse.
func checkWrite(node string, frame []byte, size int) error {
	if !heartbeat.ValidNodeName(node) {
		return errors.New("invalid node name " + agentlog.Clip(node))
	}
	if len(frame) > size {
		return fmt.Errorf("frame of %d bytes exceeds its slot of %d", len(frame), size)
	}
	return nil
}

func (v *MemoryView) WriteRecord(ctx context.Context, node string, frame []byte) error {
	if err := v.enter(ctx, OpWriteRecord); err != nil {
		return err
	}
	if err := checkWrite(node, frame, heartbeat.RecordSize); err != nil {
		return err
	}
	v.store.mu.Lock()
	defer v.store.mu.Unlock()
	v.store.records[node] = append([]byte(nil), frame...)
	v.store.hosts[node] = true
	return nil
}

func (v *MemoryView) ReadRecord(ctx context.Context, node string) ([]byte, error) {
	if err := v.enter(ctx, OpReadRecord); err != nil {
		return nil, err
	}
	v.store.mu.Lock()
	defer v.store.mu.Unlock()
	d, ok := v.store.records[node]
	if !ok {
		return nil, heartbeat.ErrNotFound
	}
	return append([]byte(nil), d...), nil
}

func (v *MemoryView) WriteMessage(ctx context.Context, node string, frame []byte) error {
	if err := v.enter(ctx, OpWriteMessage); err != nil {
		return err
	}
	if err := checkWrite(node, frame, heartbeat.MessageSize); err != nil {
		return err
	}
	v.store.mu.Lock()
	defer v.store.mu.Unlock()
	v.store.messages[node] = append([]byte(nil), frame...)
	return nil
}

func (v *MemoryView) ReadMessage(ctx context.Context, node string) ([]byte, error) {
	if err := v.enter(ctx, OpReadMessage); err != nil {
		return nil, err
	}
	v.store.mu.Lock()
	defer v.store.mu.Unlock()
	d, ok := v.store.messages[node]
	if !ok {
		return nil, heartbeat.ErrNotFound
	}
	return append([]byte(nil), d...), nil
}

func (v *MemoryView) Hosts(ctx context.Context) ([]string, error) {
	if err := v.enter(ctx, OpHosts); err != nil {
		return nil, err
	}
	v.store.mu.Lock()
	defer v.store.mu.Unlock()
	var out []string
	for h := range v.store.hosts {
		out = append(out, h)
	}
	sort.Strings(out)
	return out, nil
}

func (v *MemoryView) Close() error { return nil }

// PutRecord stores a frame directly (tests use it to play another host).
func (s *MemoryStore) PutRecord(node string, frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[node] = append([]byte(nil), frame...)
	s.hosts[node] = true
}

// Message returns node's message frame, nil when none.
func (s *MemoryStore) Message(node string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messages[node]
}

// Record returns node's record frame, nil when none.
func (s *MemoryStore) Record(node string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[node]
}
