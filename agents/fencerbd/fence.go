package fencerbd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/fence"
)

// Time limits inside an action's deadline: the record is a convenience for
// unfencing and must not hold the fence back; the holder scan needs OSDs.
const (
	recordTimeout = 5 * time.Second
	scanGrace     = 500 * time.Millisecond
)

// coverage tells whether the blocklist fences the target: OFF when every
// address is covered, ON when none is, UNKNOWN for a partial fence; the
// covered entries are returned too.
func coverage(t target, bl ceph.Blocklist) (fence.Power, []ceph.BlocklistEntry) {
	var covering []ceph.BlocklistEntry
	for _, want := range t.entries() {
		if e, ok := covered(want, bl); ok {
			covering = append(covering, e)
		}
	}
	switch len(covering) {
	case 0:
		return fence.PowerOn, nil
	case len(t.addrs):
		return fence.PowerOff, covering
	}
	return fence.PowerUnknown, covering
}

// covered finds the entry that blocks what want blocks: want itself, or for
// a single address a range that contains it.
func covered(want ceph.BlocklistEntry, bl ceph.Blocklist) (ceph.BlocklistEntry, bool) {
	for _, e := range bl {
		if e.Same(want) {
			return e, true
		}
		if !want.IsRange() && e.IsRange() && e.Range.Contains(want.Addr.IP) {
			return e, true
		}
	}
	return ceph.BlocklistEntry{}, false
}

// session parses the options, connects, and meanwhile resolves the plug.
func (f *fencer) session(ctx context.Context, r *fence.Request) (settings, target, cluster, error) {
	s, err := readSettings(r)
	if err != nil {
		return s, target{}, nil, err
	}
	d := f.startConnect(ctx, s)
	t, err := f.resolve(ctx, r, s, d, r.Plug)
	if err != nil {
		return s, t, nil, err
	}
	c, err := d.wait(ctx)
	if err != nil {
		return s, t, nil, err
	}
	if r.Action == fence.ActionOff {
		if err := f.guardTarget(ctx, r, s, c, t); err != nil {
			return s, t, nil, err
		}
	}
	return s, t, c, nil
}

// guardTarget checks the target's networks once more before off adds
// them, against what only the session knows: its own addresses as the
// cluster sees them and the monitors it connected to (validate checked the
// options alone). Heartbeat record addresses passed the same guard when
// they were read; hosts entries and an address-list plug pass it here.
// When the session cannot say (an old cluster, a call that fails), the
// check of the options stands: a fence is not failed for want of a second
// look.
func (f *fencer) guardTarget(ctx context.Context, r *fence.Request, s settings, c cluster, t target) error {
	g, err := f.newAddrGuard(ctx, s, c, t.name, false)
	if err != nil {
		r.Log.Warnf("%s was checked against the options only, not against this session's addresses and monitors: %v", t.name, err)
		return nil
	}
	_, named := s.hosts.addrs[r.Plug]
	return g.checkTarget(t, !named && !s.byName(r.Plug))
}

func (f *fencer) status(ctx context.Context, r *fence.Request) (fence.Power, error) {
	_, t, c, err := f.session(ctx, r)
	if err != nil {
		return fence.PowerUnknown, err
	}
	bl, err := c.Blocklist(ctx)
	if err != nil {
		return fence.PowerUnknown, err
	}
	p, covering := coverage(t, bl)
	if p == fence.PowerUnknown {
		r.Log.Warnf("%s is partly fenced: blocklisted by %s, of addresses %s", t.name, joinEntries(covering), joinPrefixes(t))
	}
	return p, nil
}

// off blocklists the target's addresses, records what it added, waits for
// the new osdmap and verifies.
func (f *fencer) off(ctx context.Context, r *fence.Request) error {
	s, t, c, err := f.session(ctx, r)
	if err != nil {
		return err
	}
	scan := f.startScan(ctx, c, s, t)

	bl, err := c.Blocklist(ctx)
	if err != nil {
		return err
	}
	var missing []ceph.BlocklistEntry
	for _, e := range t.entries() {
		if _, ok := covered(e, bl); !ok {
			missing = append(missing, e)
		}
	}
	if err := f.recordAdded(ctx, c, t, missing); err != nil {
		// The fence does not depend on the record: "on" will report the
		// entries it cannot remove, and the log says how to remove them.
		r.Log.Errorf("could not record the entries for %s, unfencing will not remove them (ceph osd blocklist rm %s): %v",
			t.name, joinEntries(missing), err)
	}
	if err := addAll(ctx, c, missing, s.expire); err != nil {
		return err
	}
	start := time.Now()
	if err := c.WaitForLatestOSDMap(ctx); err != nil {
		return err
	}
	r.Log.Debugf("latest osdmap in %s", time.Since(start).Round(time.Millisecond))
	bl, err = c.Blocklist(ctx)
	if err != nil {
		return err
	}
	if p, _ := coverage(t, bl); p != fence.PowerOff {
		return fmt.Errorf("%s: the blocklist does not cover all of %s after adding %s", t.name, joinPrefixes(t), joinEntries(missing))
	}
	r.Log.Infof("%s fenced: blocklisted %s for %s (added %s)", t.name, joinPrefixes(t), s.expireText, orNone(joinEntries(missing)))
	holders, err := reportHolders(r, scan, bl, t)
	if len(holders) > 0 {
		if rerr := f.recordHolders(ctx, c, t, holders); rerr != nil {
			r.Log.Warnf("could not record the image holders of %s; if it rejoins before its images are taken over, their locks must be broken by hand: %v", t.name, rerr)
		}
	}
	return err
}

// recordHolders adds the target's image holders to its record (see record).
func (f *fencer) recordHolders(ctx context.Context, c cluster, t target, hs []ceph.Holder) error {
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	key := recordKey(t.name)
	data, err := c.ConfigKeyGet(ctx, key)
	if err != nil {
		return err
	}
	rec, _, err := decodeRecord(data)
	if err != nil {
		return err
	}
	rec.addHolders(hs, time.Now())
	return c.ConfigKeySet(ctx, key, rec.encode())
}

// holderExpire is how long unfencing keeps a fenced incarnation's client
// instances blocklisted: until whoever takes their images over has broken
// their locks, which Pacemaker does within minutes; an entry for one
// instance blocks nobody else.
const holderExpire = 30 * 24 * time.Hour

// addAll adds the entries concurrently (the monitors batch them into one
// osdmap change).
func addAll(ctx context.Context, c cluster, es []ceph.BlocklistEntry, expire time.Duration) error {
	errs := make([]error, len(es))
	var wg sync.WaitGroup
	for i, e := range es {
		wg.Go(func() {
			errs[i] = c.BlocklistAdd(ctx, e, expire)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// recordAdded adds es to the target's record (before they are added to the
// blocklist, so a crash in between leaves no unrecorded entry).
func (f *fencer) recordAdded(ctx context.Context, c cluster, t target, es []ceph.BlocklistEntry) error {
	if len(es) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	key := recordKey(t.name)
	rec := record{Version: recordVersion, Target: t.name}
	data, err := c.ConfigKeyGet(ctx, key)
	switch {
	case err == nil:
		if rec, _, err = decodeRecord(data); err != nil {
			return fmt.Errorf("config-key %s: %w", key, err)
		}
	case !ceph.IsNotFound(err):
		return err
	}
	rec.add(es, time.Now(), f.node())
	return c.ConfigKeySet(ctx, key, rec.encode())
}

func (f *fencer) node() string {
	if f.hostname != "" {
		return f.hostname
	}
	h, _ := os.Hostname()
	return h
}

// on removes the entries fence_rbd recorded for the target, then checks
// that nothing else still fences it.
func (f *fencer) on(ctx context.Context, r *fence.Request) error {
	s, t, c, err := f.session(ctx, r)
	if err != nil {
		return err
	}
	key := recordKey(t.name)
	var ours []ceph.BlocklistEntry
	var rec record
	data, err := c.ConfigKeyGet(ctx, key)
	switch {
	case err == nil:
		if rec, ours, err = decodeRecord(data); err != nil {
			return fmt.Errorf("config-key %s: %w; remove the entries by hand (ceph osd blocklist rm), then the key", key, err)
		}
	case !ceph.IsNotFound(err):
		return fmt.Errorf("reading the record of %s: %w", t.name, err)
	}
	// Pacemaker 2.1 asks a node that was fenced while its cluster stack ran
	// (fabric fencing leaves it running) to unfence itself at once, until
	// that stack learns it was fenced and stops, which also stops the
	// fencer that ran this "on". Removing the entries then would undo the
	// fence of a node that has not restarted: an orphaned "on" does nothing.
	if len(ours) > 0 && f.orphaned() {
		return fmt.Errorf("the fencer that asked to unfence %s (pid %d) is gone; not removing %s: the node is unfenced when it rejoins",
			t.name, f.parent, joinEntries(ours))
	}
	// The fenced incarnation's clients stay blocklisted one by one (see
	// record.Holders) before the node's own entries come off.
	if held := rec.holderEntries(); len(ours) > 0 && len(held) > 0 {
		if err := addAll(ctx, c, held, min(holderExpire, s.expire)); err != nil {
			return fmt.Errorf("keeping the fenced clients of %s blocklisted (%s): %w", t.name, joinEntries(held), err)
		}
		r.Log.Infof("%s: its fenced client instances stay blocklisted for %s, so their image locks can be broken: %s",
			t.name, min(holderExpire, s.expire), joinEntries(held))
	}
	errs := make([]error, len(ours))
	var wg sync.WaitGroup
	for i, e := range ours {
		wg.Go(func() {
			errs[i] = c.BlocklistRemove(ctx, e)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(ours) > 0 {
		if err := c.ConfigKeyRemove(ctx, key); err != nil {
			return fmt.Errorf("removing the record of %s: %w", t.name, err)
		}
		r.Log.Infof("%s unfenced: removed %s", t.name, joinEntries(ours))
	}
	bl, err := c.Blocklist(ctx)
	if err != nil {
		return err
	}
	if _, covering := coverage(t, bl); len(covering) > 0 {
		return fmt.Errorf("%s is still blocklisted by entries fence_rbd did not add: %s (ceph osd blocklist rm)", t.name, joinEntries(covering))
	}
	return nil
}

func joinEntries(es []ceph.BlocklistEntry) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.String()
	}
	return strings.Join(s, " ")
}

func joinPrefixes(t target) string {
	s := make([]string, len(t.addrs))
	for i, p := range t.addrs {
		if p.IsSingleIP() {
			s[i] = p.Addr().String()
		} else {
			s[i] = p.String()
		}
	}
	return strings.Join(s, ",")
}

func orNone(s string) string {
	if s == "" {
		return "none, all were present"
	}
	return s
}
