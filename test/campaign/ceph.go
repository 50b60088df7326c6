package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"

	"github.com/kvmha/kvmha/test/campaign/ring"
)

// cephProbe is the observer's and the checker's own session with the nodes' Ceph (as
// client.admin, from the hub): who holds each guest's image, the blocklist, and the guests'
// write rings read from outside. It opens images read-only, which registers no watch.
type cephProbe struct {
	mu    sync.Mutex // librados handles are thread-safe, but one image open at a time is plenty
	conn  *rados.Conn
	ioctx *rados.IOContext
}

func openCeph(c cephEnv) (*cephProbe, error) {
	conn, err := rados.NewConnWithUser("admin")
	if err != nil {
		return nil, err
	}
	if err := conn.ReadConfigFile(c.conf); err != nil {
		return nil, err
	}
	for k, v := range map[string]string{"keyring": c.adminKeyring, "client_mount_timeout": "10",
		"rados_mon_op_timeout": "5", "rados_osd_op_timeout": "5"} {
		if err := conn.SetConfigOption(k, v); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	if err := conn.Connect(); err != nil {
		return nil, fmt.Errorf("connecting to the nodes' Ceph: %w", err)
	}
	ioctx, err := conn.OpenIOContext(c.pool)
	if err != nil {
		conn.Shutdown()
		return nil, err
	}
	return &cephProbe{conn: conn, ioctx: ioctx}, nil
}

func (p *cephProbe) close() {
	p.ioctx.Destroy()
	p.conn.Shutdown()
}

// holders lists the image's watchers (addresses) and its exclusive-lock owner's address.
func (p *cephProbe) holders(image string) ([]string, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	img, err := rbd.OpenImageReadOnly(p.ioctx, image, rbd.NoSnapshot)
	if err != nil {
		return nil, "", err
	}
	defer img.Close()
	ws, err := img.ListWatchers()
	if err != nil {
		return nil, "", err
	}
	var addrs []string
	for _, w := range ws {
		addrs = append(addrs, w.Addr)
	}
	_, lockers, err := img.ListLockers()
	if err != nil {
		return addrs, "", nil
	}
	owner := ""
	if len(lockers) > 0 {
		owner = lockers[0].Addr
	}
	return addrs, owner, nil
}

// blocklist lists the OSD blocklist's entries (address, without expiry).
func (p *cephProbe) blocklist() ([]string, error) {
	cmd, _ := json.Marshal(map[string]string{"prefix": "osd blocklist ls", "format": "json"})
	out, status, err := p.conn.MonCommand(cmd)
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, status)
	}
	// Pacific prints two JSON arrays back to back: the entries, then the range entries.
	var entries []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for k := 0; dec.More(); k++ {
		var list []struct {
			Addr string `json:"addr"`
		}
		if err := dec.Decode(&list); err != nil {
			break
		}
		for _, e := range list {
			if k > 0 {
				e.Addr = "range " + e.Addr // the second array: range entries
			}
			entries = append(entries, e.Addr)
		}
	}
	return entries, nil
}

// readRing reads a guest's write ring from its image.
func (p *cephProbe) readRing(image string) ([]ring.Record, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	img, err := rbd.OpenImageReadOnly(p.ioctx, image, rbd.NoSnapshot)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	buf := make([]byte, ring.Size)
	for off := 0; off < len(buf); {
		n, err := img.ReadAt(buf[off:], int64(off))
		if n == 0 && err != nil {
			return nil, err
		}
		off += n
	}
	var mine []ring.Record
	for _, r := range ring.Parse(buf) {
		if r.Guest == image {
			mine = append(mine, r)
		}
	}
	return mine, nil
}
