package libvirtguests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/guestdisks"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// fakeConn is a libvirtd with running domains, their XML and pools.
type fakeConn struct {
	mu       sync.Mutex
	stats    []libvirt.DomainDisks
	xml      map[string]string // by UUID
	xmlErr   error
	xmlReads int
	pools    map[string]string
	statsErr error
	closed   bool
}

func (f *fakeConn) ActiveDiskStats(context.Context) ([]libvirt.DomainDisks, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats, f.statsErr
}

func (f *fakeConn) DomainXML(_ context.Context, d libvirt.Domain, inactive, secure bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.xmlReads++
	if inactive || secure {
		return "", errors.New("wanted the live XML without secrets")
	}
	if f.xmlErr != nil {
		return "", f.xmlErr
	}
	return f.xml[d.UUID], nil
}

func (f *fakeConn) StoragePoolXML(_ context.Context, name string) (string, error) {
	if x, ok := f.pools[name]; ok {
		return x, nil
	}
	return "", errors.New("no pool")
}

func (f *fakeConn) Close() error { f.closed = true; return nil }

func dom(name, uuid string) libvirt.Domain {
	d, err := libvirt.DomainRef(name, uuid)
	if err != nil {
		panic(err)
	}
	return d
}

const (
	uuid1 = "6f1c2a3e-0000-4000-8000-0000000000a1"
	uuid2 = "6f1c2a3e-0000-4000-8000-0000000000a2"
)

func TestGuestsCarryTheirDisks(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "vm1.img")
	os.WriteFile(img, nil, 0o644)
	os.Symlink(dir, filepath.Join(dir, "link"))
	f := &fakeConn{
		stats: []libvirt.DomainDisks{
			{Domain: dom("vm2", uuid2)},
			{Domain: dom("vm1", uuid1), Disks: []libvirt.DiskStats{
				{Name: "vda", Path: filepath.Join(dir, "link/vm1.img"), RdReqs: 1, WrReqs: 2, WrBytes: 512},
				{Name: "vdb", WrReqs: 3},
				{Name: "vdc", RdReqs: 4},
			}},
		},
		xml: map[string]string{
			uuid1: fmt.Sprintf(`<domain><name>vm1</name><devices>
<disk type='file'><source file='%s/link/vm1.img'/><target dev='vda'/></disk>
<disk type='network'><source protocol='rbd' name='rbd/vm1-data'/><target dev='vdb'/></disk>
<disk type='volume'><source pool='ceph' volume='vm1-extra'/><target dev='vdc'/></disk>
</devices></domain>`, dir),
			uuid2: "<domain><name>vm2</name></domain>",
		},
		pools: map[string]string{"ceph": "<pool type='rbd'><source><name>rbd</name></source></pool>"},
	}
	s := &Source{URI: "test:///", dial: func(context.Context, string) (conn, error) { return f, nil },
		Resolver: &guestdisks.Resolver{Sys: t.TempDir(), Dev: t.TempDir()}}
	if !s.ListsDisks() {
		t.Fatal("the source does not say it lists disks")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	gs, err := s.Guests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Name != "vm1" || gs[1].Name != "vm2" || gs[1].DisksIncomplete || len(gs[1].Disks) != 0 {
		t.Fatalf("%+v", gs)
	}
	g := gs[0]
	if g.IO.RdReqs != 5 || g.IO.WrReqs != 5 || g.IO.WrBytes != 512 || g.DisksIncomplete || len(g.Disks) != 3 {
		t.Fatalf("%+v", g)
	}
	if d := g.Disks[0]; d.Kind != heartbeat.DiskFile || d.Real != img || d.IO == nil || d.IO.WrBytes != 512 {
		t.Fatalf("vda %+v", d)
	}
	if d := g.Disks[1]; d.Kind != heartbeat.DiskRBD || d.Source != "rbd/vm1-data" || d.IO.WrReqs != 3 {
		t.Fatalf("vdb %+v", d)
	}
	if d := g.Disks[2]; d.Kind != heartbeat.DiskRBD || d.Source != "rbd/vm1-extra" || d.Volume != "ceph/vm1-extra" {
		t.Fatalf("vdc %+v", d)
	}
	// Known disks are not read again while the stats name the same ones.
	reads := f.xmlReads
	if _, err := s.Guests(ctx); err != nil || f.xmlReads != reads {
		t.Fatalf("%v; %d reads after %d", err, f.xmlReads, reads)
	}
	// A disk hot-plugged: its XML is read again; when that fails, the guest
	// keeps the disks known and says they are not all there.
	f.mu.Lock()
	f.stats[1].Disks = append(f.stats[1].Disks, libvirt.DiskStats{Name: "vdd", Path: "/dev/sdx"})
	f.xmlErr = errors.New("libvirtd busy")
	f.mu.Unlock()
	gs, err = s.Guests(ctx)
	if err != nil || f.xmlReads != reads+1 || !gs[0].DisksIncomplete || len(gs[0].Disks) != 3 {
		t.Fatalf("%v %+v", err, gs[0])
	}
	f.mu.Lock()
	f.xmlErr = nil
	f.mu.Unlock()
	for i := 0; i < retryEvery; i++ {
		gs, _ = s.Guests(ctx)
	}
	if gs[0].DisksIncomplete {
		t.Fatalf("not read again after %d beats: %+v", retryEvery, gs[0])
	}
	// A guest gone is forgotten.
	f.mu.Lock()
	f.stats = f.stats[:1]
	f.mu.Unlock()
	if _, err := s.Guests(ctx); err != nil || len(s.known) != 1 {
		t.Fatalf("%v, %d known", err, len(s.known))
	}
	// A failed stats call drops the connection.
	f.statsErr = errors.New("broken pipe")
	if _, err := s.Guests(ctx); err == nil || s.conn != nil || !f.closed {
		t.Fatal("kept a broken connection")
	}
}

// A guest first seen without its XML: listed, disks unknown.
func TestGuestWithoutXML(t *testing.T) {
	f := &fakeConn{stats: []libvirt.DomainDisks{{Domain: dom("vm1", uuid1), Disks: []libvirt.DiskStats{{Name: "vda"}}}},
		xmlErr: errors.New("timeout")}
	s := &Source{dial: func(context.Context, string) (conn, error) { return f, nil }}
	gs, err := s.Guests(context.Background())
	if err != nil || len(gs) != 1 || !gs[0].DisksIncomplete || gs[0].Disks != nil {
		t.Fatalf("%v %+v", err, gs)
	}
}

// More disks than a record takes: the rest counted, the guest incomplete.
func TestGuestWithTooManyDisks(t *testing.T) {
	xml := "<domain><name>vm1</name><devices>"
	var stats []libvirt.DiskStats
	for i := 0; i < heartbeat.MaxGuestDisks+3; i++ {
		xml += fmt.Sprintf("<disk type='network'><source protocol='rbd' name='rbd/d%d'/><target dev='vd%d'/></disk>", i, i)
		stats = append(stats, libvirt.DiskStats{Name: fmt.Sprintf("vd%d", i)})
	}
	xml += "</devices></domain>"
	f := &fakeConn{stats: []libvirt.DomainDisks{{Domain: dom("vm1", uuid1), Disks: stats}}, xml: map[string]string{uuid1: xml}}
	s := &Source{dial: func(context.Context, string) (conn, error) { return f, nil }}
	gs, err := s.Guests(context.Background())
	if err != nil || len(gs[0].Disks) != heartbeat.MaxGuestDisks || gs[0].DisksMore != 3 || !gs[0].DisksIncomplete {
		t.Fatalf("%v %d disks + %d, incomplete %v", err, len(gs[0].Disks), gs[0].DisksMore, gs[0].DisksIncomplete)
	}
}
