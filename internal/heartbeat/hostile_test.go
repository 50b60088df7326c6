package heartbeat_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/files/filestest"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
)

// A corrupt record is reported as corrupt, by every reader: ReadRecordOf's error, a
// fencer's verdict, not "no record".
func TestCorruptRecordSaysSo(t *testing.T) {
	ctx := context.Background()
	store := heartbeattest.NewMemoryStore("mem://a")
	v := store.View()
	data, _ := heartbeat.EncodeRecord(heartbeat.SampleRecord())
	data[len(data)-2] ^= 0xff // the payload no longer matches its checksum
	store.PutRecord(heartbeat.SampleRecord().Node, data)
	_, err := heartbeat.ReadRecordOf(ctx, v, heartbeat.SampleRecord().Node)
	if !errors.Is(err, heartbeat.ErrBadFrame) || !strings.Contains(err.Error(), "corrupt record of "+heartbeat.SampleRecord().Node) {
		t.Fatalf("ReadRecordOf: %v", err)
	}
	f := &heartbeat.Fencer{Backends: []heartbeat.Backend{v}}
	verdict := f.Observe(ctx, heartbeat.SampleRecord().Node)
	if verdict.Known || verdict.Dead || !strings.Contains(verdict.Reason, "corrupt") || strings.Contains(verdict.Reason, "no record of") {
		t.Fatalf("verdict on a corrupt record: %+v", verdict)
	}
	if _, err := f.Fence(ctx, heartbeat.SampleRecord().Node, heartbeat.CmdOff, nopLogger{}); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("fencing a host whose record is corrupt: %v", err)
	}
	rec, errs := heartbeat.ReadNewest(ctx, []heartbeat.Backend{v}, heartbeat.SampleRecord().Node)
	if rec != nil || len(errs) != 1 || !strings.Contains(errs[0].Error(), "corrupt") {
		t.Fatalf("ReadNewest: %v %v", rec, errs)
	}

	// A failed read is not "no record" either.
	w := heartbeat.NewWatch("node2")
	w.Observe("b://", nil, errors.New("EIO"), 0, 0)
	w.Observe("a://", nil, heartbeat.ErrNotFound, 0, 0)
	if r := w.Verdict(0).Reason; r != "no record of node2 could be read: b://: EIO" {
		t.Fatalf("failed read: %s", r)
	}
	w.Observe("c://", nil, heartbeat.BadFrame("no magic"), 0, 0)
	if r := w.Verdict(0).Reason; r != "no readable record of node2: c://: bad frame: no magic; b://: EIO" {
		t.Fatalf("corrupt and failed: %s", r)
	}
}

type nopLogger struct{}

func (nopLogger) Infof(string, ...any) {}

func (nopLogger) Warnf(string, ...any) {}

func (nopLogger) Errorf(string, ...any) {}

// Every validation error is a FieldError naming the configuration field, which is the
// agent's parameter of the same name.
func TestValidateNamesTheField(t *testing.T) {
	for field, f := range map[string]func(c *heartbeat.Config){
		"node":              func(c *heartbeat.Config) { c.Node = "a b" },
		"backends":          func(c *heartbeat.Config) { c.Backends = []string{"-1"} },
		"interval":          func(c *heartbeat.Config) { c.Interval = 0 },
		"timeout":           func(c *heartbeat.Config) { c.Timeout = heartbeat.Duration(time.Hour) },
		"watchdog_device":   func(c *heartbeat.Config) { c.WatchdogDevice = "watchdog0" },
		"watchdog_timeout":  func(c *heartbeat.Config) { c.WatchdogTimeout = heartbeat.Duration(time.Hour) },
		"self_fence":        func(c *heartbeat.Config) { c.SelfFence = "halt" },
		"storage_attribute": func(c *heartbeat.Config) { c.StorageAttribute = "a b" },
		"state_dir":         func(c *heartbeat.Config) { c.StateDir = "relative" },
	} {
		c := heartbeat.SampleConfig(t, 1)
		f(&c)
		_, err := c.Validate()
		var fe *heartbeat.FieldError
		if !errors.As(err, &fe) || fe.Field != field || !strings.HasPrefix(err.Error(), field+": ") {
			t.Errorf("%s: %v", field, err)
		}
	}
	c := heartbeat.SampleConfig(t, 1)
	c.Interval = heartbeat.Duration(2 * time.Minute)
	if _, err := c.Validate(); err == nil || !strings.Contains(err.Error(), "interval: 2m0s is too long (at most 1m0s)") {
		t.Errorf("long interval: %v", err)
	}
}

// A configuration path that is a FIFO, a device or a directory is refused at once, and a
// huge file is not read whole: "kvmha heartbeat run --config /dev/zero" must not grow.
func TestReadConfigOfHostileFiles(t *testing.T) {
	hostile := filestest.NewHostile(t)
	dir, fifo := hostile.Dir, hostile.FIFO
	hostile.Refused(t, time.Second, func(p string) error {
		if _, err := heartbeat.ReadConfig(p); !errors.Is(err, files.ErrNotRegular) {
			return fmt.Errorf("%v, want %v", err, files.ErrNotRegular)
		}
		return nil
	})
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, heartbeat.MaxConfigSize+1), 0o600)
	if _, err := heartbeat.ReadConfig(big); !errors.Is(err, files.ErrTooLarge) {
		t.Errorf("big: %v", err)
	}
	if _, err := heartbeat.ReadState(fifo); err == nil {
		t.Error("read a state in a FIFO's directory")
	}
	os.Mkdir(filepath.Join(dir, "st"), 0o755)
	filestest.FIFO(t, heartbeat.StatePath(filepath.Join(dir, "st")))
	if _, err := heartbeat.ReadState(filepath.Join(dir, "st")); !errors.Is(err, files.ErrNotRegular) {
		t.Errorf("state FIFO: %v", err)
	}
}
