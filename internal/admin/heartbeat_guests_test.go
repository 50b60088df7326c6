package admin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

// status --guests lists every host's guests with their disks; the JSON has
// them in each host's record.
func TestStatusGuests(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hb")
	os.Mkdir(dir, 0o755)
	uri := "file://" + dir
	spec, err := heartbeat.ParseBackend(uri)
	if err != nil {
		t.Fatal(err)
	}
	b, err := heartbeat.OpenLocal(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r := &heartbeat.Record{Node: "node2", Incarnation: 1, Seq: 1, IntervalMs: 1000, TimeoutMs: 5000, WatchdogMs: 5000,
		State: heartbeat.StateRunning, Backends: []string{uri}, BackendsOK: 1, GuestDisks: true,
		Guests: []heartbeat.Guest{{Name: "vm1", UUID: "u1", IO: &heartbeat.GuestIO{WrReqs: 7},
			Disks: []heartbeat.Disk{{Target: "vda", Kind: heartbeat.DiskFile, Source: "/shared/vm1.img", IO: &heartbeat.DiskIO{WrReqs: 7}}}}}}
	data, err := heartbeat.EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Register(ctx, "node2"); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteRecord(ctx, "node2", data); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run("heartbeat", "status", "--backends", uri, "--state-dir", "/nonexistent", "--guests")
	if code != 0 || !strings.Contains(out, "node2: 1 guests") || !strings.Contains(out, "  vm1 u1  rd 0 req 0 B, wr 7 req 0 B") ||
		!strings.Contains(out, "vda   file    /shared/vm1.img") {
		t.Fatalf("%d %s %s", code, out, errs)
	}
	code, out, _ = run("heartbeat", "status", "--backends", uri, "--state-dir", "/nonexistent")
	if code != 0 || strings.Contains(out, "/shared/vm1.img") {
		t.Fatalf("disks listed without --guests: %s", out)
	}
	code, out, _ = run("heartbeat", "status", "--backends", uri, "--state-dir", "/nonexistent", "--output", "json")
	var js statusOutput
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js.Hosts) != 1 || js.Hosts[0].Record == nil ||
		!js.Hosts[0].Record.GuestDisks || js.Hosts[0].Record.Guests[0].Disks[0].Source != "/shared/vm1.img" ||
		!strings.Contains(out, `"guest_disks": true`) || !strings.Contains(out, `"src": "/shared/vm1.img"`) {
		t.Fatalf("json: %d %s", code, out)
	}
}
