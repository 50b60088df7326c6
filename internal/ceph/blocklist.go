package ceph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// BlocklistEntry is one entry of the OSD map's blocklist: a single address
// (a whole IP when port and nonce are 0) or, on clusters that have range
// blocklists, a network.
type BlocklistEntry struct {
	Addr  EntityAddr   // set for address entries
	Range netip.Prefix // valid for range entries
	Until time.Time    // zero when Ceph's text could not be read
}

// IsRange reports whether the entry blocks a network.
func (e BlocklistEntry) IsRange() bool { return e.Range.IsValid() }

// String is the entry as the blocklist commands take it: "10.0.0.2:0/0",
// "10.0.0.2:0/3282" or a network "10.0.0.0/24".
func (e BlocklistEntry) String() string {
	if e.IsRange() {
		return e.Range.String()
	}
	return e.Addr.String()
}

// Same reports whether two entries name the same blocked thing.
func (e BlocklistEntry) Same(o BlocklistEntry) bool {
	if e.IsRange() || o.IsRange() {
		return e.Range == o.Range
	}
	return e.Addr.Equal(o.Addr)
}

// HostEntry is the entry that blocks every client of one IP.
func HostEntry(ip netip.Addr) BlocklistEntry {
	return BlocklistEntry{Addr: EntityAddr{IP: ip}}
}

// RangeEntry is the entry that blocks every client in a network.
func RangeEntry(p netip.Prefix) BlocklistEntry {
	return BlocklistEntry{Range: p.Masked()}
}

// ParseBlocklistEntry reads an entry as an operator writes it: an entity
// address, a bare IP (meaning ip:0/0) or a network in CIDR notation.
func ParseBlocklistEntry(s string) (BlocklistEntry, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return RangeEntry(p), nil
	}
	a, err := ParseEntityAddr(s)
	if err != nil {
		return BlocklistEntry{}, err
	}
	a.Type = ""
	return BlocklistEntry{Addr: a}, nil
}

// Blocklist is the OSD map's blocklist at one moment.
type Blocklist []BlocklistEntry

// IsBlocklisted reports whether the OSDs refuse a client at addr, with the
// rules of Ceph's OSDMap::is_blocklisted: an entry for that very address,
// an entry for its whole IP (port 0, nonce 0), or a range containing its IP.
// Expiry times are not looked at: an entry blocks until the monitors drop it.
func (bl Blocklist) IsBlocklisted(addr EntityAddr) bool {
	_, ok := bl.Covering(addr)
	return ok
}

// Covering returns the entry that blocks addr, if any.
func (bl Blocklist) Covering(addr EntityAddr) (BlocklistEntry, bool) {
	for _, e := range bl {
		switch {
		case e.IsRange():
			if e.Range.Contains(addr.IP) {
				return e, true
			}
		case e.Addr.Equal(addr), e.Addr.IsHost() && e.Addr.IP == addr.IP:
			return e, true
		}
	}
	return BlocklistEntry{}, false
}

// Contains reports whether an entry that is Same as e is present.
func (bl Blocklist) Contains(e BlocklistEntry) bool {
	for _, x := range bl {
		if x.Same(e) {
			return true
		}
	}
	return false
}

// maxBlocklistJSON bounds what DecodeBlocklist reads (a cluster with tens of
// thousands of entries stays well below it).
const maxBlocklistJSON = 64 << 20

// DecodeBlocklist decodes the JSON output of "osd blocklist ls". Pacific
// and later print two arrays back to back, addresses then ranges:
//
//	[{"addr":"10.0.0.2:0/3282","until":"2026-01-01T00:00:00.000000+0000"}][{"range":"10.1.0.0:0/24","until":"…"}]
//
// older releases print one array. Each object is classified by its key
// ("addr" or "range"), not by the array it is in. Ranges are printed as an
// address whose nonce is the prefix length ("10.1.0.0:0/24"). Unknown keys
// are ignored; an "until" that cannot be read leaves Until zero.
func DecodeBlocklist(data []byte) (Blocklist, error) {
	if len(data) > maxBlocklistJSON {
		return nil, fmt.Errorf("blocklist: %d bytes is more than this decoder accepts", len(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	bl := Blocklist{}
	for {
		var raw []map[string]json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return bl, nil
		}
		if err != nil {
			return nil, fmt.Errorf("blocklist: %w", err)
		}
		for _, obj := range raw {
			e, err := decodeBlocklistObject(obj)
			if err != nil {
				return nil, fmt.Errorf("blocklist: %w", err)
			}
			bl = append(bl, e)
		}
	}
}

func decodeBlocklistObject(obj map[string]json.RawMessage) (BlocklistEntry, error) {
	var e BlocklistEntry
	if raw, ok := obj["until"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			e.Until = parseCephTime(s)
		}
	}
	if raw, ok := obj["range"]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return e, errors.New(`"range" is not a string`)
		}
		p, err := parseCephRange(s)
		if err != nil {
			return e, err
		}
		e.Range = p
		return e, nil
	}
	raw, ok := obj["addr"]
	if !ok {
		return e, errors.New(`entry has neither "addr" nor "range"`)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return e, errors.New(`"addr" is not a string`)
	}
	a, err := ParseEntityAddr(s)
	if err != nil {
		return e, err
	}
	a.Type = ""
	e.Addr = a
	return e, nil
}

// parseCephRange reads a range as Ceph prints it: "10.1.0.0:0/24",
// "cidr:10.1.0.0:0/24" or "[fd00::]:0/64"; plain CIDR is accepted too.
func parseCephRange(s string) (netip.Prefix, error) {
	t := strings.TrimPrefix(s, "cidr:")
	if p, err := netip.ParsePrefix(t); err == nil && p.Addr().Zone() == "" {
		return p.Masked(), nil
	}
	a, err := ParseEntityAddr(t)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad range %q: %w", agentlog.Clip(s), err)
	}
	p, err := a.IP.Prefix(int(min(a.Nonce, 129)))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad range %q: prefix length %d", agentlog.Clip(s), a.Nonce)
	}
	return p, nil
}

// Ceph prints times as 2026-11-22T00:42:27.662254+0000.
const cephTimeLayout = "2006-01-02T15:04:05.999999999-0700"

func parseCephTime(s string) time.Time {
	t, err := time.Parse(cephTimeLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// cephSeconds marshals as a JSON number that always has a fraction part:
// the monitors check "expire" as a CephFloat and reject 60 but take 60.0.
type cephSeconds float64

func (s cephSeconds) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(s), 'f', 1, 64)), nil
}

// blocklistCommand is the "osd blocklist" mon command.
type blocklistCommand struct {
	Prefix string       `json:"prefix"`
	Range  string       `json:"range,omitempty"` // "range" for network entries
	Op     string       `json:"blocklistop"`
	Addr   string       `json:"addr"`
	Expire *cephSeconds `json:"expire,omitempty"`
}

func newBlocklistCommand(op string, e BlocklistEntry, expire time.Duration) blocklistCommand {
	c := blocklistCommand{Prefix: "osd blocklist", Op: op, Addr: e.String()}
	if e.IsRange() {
		c.Range = "range"
	}
	if op == "add" {
		s := cephSeconds(expire.Seconds())
		c.Expire = &s
	}
	return c
}
