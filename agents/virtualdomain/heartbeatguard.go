package virtualdomain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/guestdisks"
	"github.com/kvmha/kvmha/internal/ocf"
)

// The start guard from the heartbeat: with the heartbeat parameter, start
// and migrate_from read every host's newest storage heartbeat record
// (ocf:kvmha:HostHeartbeat lists each running guest and its disks in it)
// and do not run a domain that another live host runs, or whose writable
// disks a guest there writes to (heartbeat.InUse decides). It catches what
// Pacemaker cannot see: a guest started by hand, a second domain defined on
// the same disk, a node cut from the cluster that still runs its guests. It
// stands beside the RBD holder check, which sees only RBD images and only
// from Ceph's side; the guard sees files and block devices on shared
// storage too.

const pHeartbeat = "heartbeat"

// heartbeatParams are the guard's parameters, appended to params where the
// agent is assembled.
var heartbeatParams = []ocf.Param{
	{Name: pHeartbeat, Type: ocf.TypeString, Default: "",
		ShortDesc: "Storage heartbeat backends read before a start (the start guard)",
		LongDesc: "The backends of ocf:kvmha:HostHeartbeat (its backends parameter; fence_rbd's heartbeat), " +
			"separated by spaces or commas: rados://pool[/namespace], file:///dir, block:///dev/device. When set, " +
			"start and migrate_from read every host's newest heartbeat record, which lists the host's running " +
			"guests and their disks, and fail (naming the host) when another host whose heartbeat is alive runs " +
			"this domain (by UUID, else by name) or a guest writing to one of its writable disks: the same RBD " +
			"image, the same file once links are followed, the same block device by its stable ids (WWN, EUI, " +
			"serial, device-mapper UUID, /dev/disk/by-id names). A host that lists them but has gone silent is " +
			"waited for until its record has not changed for its timeout + watchdog timeout + 2 s (what " +
			"fence_kvmha takes as proof that its watchdog reset it), or its new incarnation lists them no more; " +
			"the wait keeps a quarter of the action's timeout (5 to 30 s, at most half) for the start itself, and fails when " +
			"that time is up. Read-only and shareable disks, this node's own record, the migration source " +
			"during migrate_from and hosts whose heartbeat was stopped cleanly are not looked at. Backends that " +
			"cannot be read (enough of them to see each host's newest record: all of one or two, a majority of " +
			"more) fail the start, saying which. rados:// backends are read with ceph_conf, ceph_user and " +
			"ceph_keyring. A depth-20 monitor warns when this node's own record does not list the domain and " +
			"its disks. Empty: no guard."},
}

// heartbeatSpecs parses the heartbeat parameter; nil when it is unset.
func heartbeatSpecs(req *ocf.Request) ([]heartbeat.Spec, error) {
	list := strings.TrimSpace(req.String(pHeartbeat))
	if list == "" {
		return nil, nil
	}
	specs, err := heartbeat.ParseBackends(list)
	if err != nil {
		return nil, ocf.ParamErrorf(pHeartbeat, "%v", err)
	}
	return specs, nil
}

// validateWithHeartbeat is validate, and for the actions that read the
// heartbeat (validate-all, start, migrate_from) a check of its backends: a
// monitor is never failed over a parameter only they use.
func (v *vd) validateWithHeartbeat(ctx context.Context, req *ocf.Request) error {
	if err := v.validate(ctx, req); err != nil {
		return err
	}
	switch req.Action() {
	case ocf.ActionValidateAll, ocf.ActionStart, ocf.ActionMigrateFrom:
		_, err := heartbeatSpecs(req)
		return err
	}
	return nil
}

// nodeName is this node's name in the heartbeat: Pacemaker's (on_node),
// else the host name up to its first dot, as HostHeartbeat names it.
func nodeName(req *ocf.Request) string {
	if n := req.Meta("on_node"); n != "" {
		return n
	}
	h, _ := os.Hostname()
	h, _, _ = strings.Cut(h, ".")
	return h
}

// Time the guard keeps for the start after its wait: a quarter of what is
// left, within these bounds, and at most half of it.
const (
	minGuardReserve = 5 * time.Second
	maxGuardReserve = 30 * time.Second
)

// guardStart runs the guard before domain df (UUID uuid, "" when unknown)
// runs here; ignore names hosts not looked at (a migration's source). what
// ends the refusal: "refusing to start domain vm1".
func (v *vd) guardStart(ctx context.Context, req *ocf.Request, s settings, h hypervisor, df *domainFile, uuid string, ignore []string, what string) error {
	specs, err := heartbeatSpecs(req)
	if err != nil || len(specs) == 0 {
		return err
	}
	use := v.heartbeatUse(ctx, req, h, df, uuid)
	backends, closeAll, err := v.openHeartbeat(ctx, s, df.cfg, specs)
	if err != nil {
		return err
	}
	defer closeAll()
	g := &heartbeat.InUse{Backends: backends, Self: nodeName(req), Ignore: ignore, Margin: v.heartbeatMargin,
		Poll: v.poll, Log: req.Log}
	if v.heartbeatState != nil {
		g.SeedFromState(v.heartbeatState())
	}
	wctx, cancel := earlier(ctx, min(reserveFor(ctx, minGuardReserve, maxGuardReserve), deadline.Remaining(ctx)/2))
	defer cancel()
	start := time.Now()
	err = g.Check(wctx, use)
	if errors.Is(err, heartbeat.ErrInUse) {
		// The host at fault leads: Pacemaker keeps 128 bytes of the reason.
		return ocf.Errorf(ocf.ErrGeneric, "%s; %s", strings.TrimPrefix(err.Error(), heartbeat.ErrInUse.Error()+": "), what)
	}
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "heartbeat: %v; %s", err, what)
	}
	req.Log.Infof("heartbeat: no other host runs domain %s or writes to its disks (%d disks checked, %s)",
		use.Name, len(use.Disks), time.Since(start).Round(time.Millisecond))
	return nil
}

// heartbeatUse is the domain as the guard compares it: its name, UUID and
// disks, resolved on this node (links followed, block devices' ids, pool
// volumes). A disk that cannot be resolved is compared as the XML names it.
func (v *vd) heartbeatUse(ctx context.Context, req *ocf.Request, h hypervisor, df *domainFile, uuid string) heartbeat.Use {
	if uuid == "" {
		uuid = df.cfg.UUID
	}
	use := heartbeat.Use{Name: df.cfg.Name, UUID: uuid}
	disks, err := guestdisks.Parse(df.raw)
	if err != nil {
		req.Log.Warnf("heartbeat: the disks of domain %s cannot be read from %s: %v; comparing the domain only", df.cfg.Name, df.path, err)
		return use
	}
	r := v.disks
	if h != nil {
		r.Pool = func(ctx context.Context, name string) (string, error) { return h.StoragePoolXML(ctx, name) }
	}
	// Only the writable disks are looked for: the others are kept as named.
	var writable []heartbeat.Disk
	for _, d := range disks {
		if d.Writable() {
			writable = append(writable, d)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, fileWait(ctx))
	defer cancel()
	resolved, err := r.ResolveAll(rctx, writable)
	if err != nil {
		req.Log.Warnf("heartbeat: %v; comparing what cannot be resolved as the domain XML names it", err)
	}
	for i := range disks {
		if disks[i].Writable() {
			disks[i], resolved = resolved[0], resolved[1:]
		}
	}
	use.Disks = disks
	return use
}

// openHeartbeat opens the guard's backends: rados:// ones through one Ceph
// session (the domain's Ceph access), the others directly. A backend that
// cannot be opened stands for its error: the guard decides whether enough
// others can be read. closeAll closes them and the session.
func (v *vd) openHeartbeat(ctx context.Context, s settings, cfg *domainConfig, specs []heartbeat.Spec) (bs []heartbeat.Backend, closeAll func(), err error) {
	var (
		session cephapi.Inspector
		openErr error
		opened  bool
		out     []heartbeat.Backend
	)
	closeAll = func() {
		for _, b := range out {
			b.Close()
		}
		if session != nil {
			session.Close()
		}
	}
	for _, spec := range specs {
		if spec.Scheme != heartbeat.SchemeRADOS {
			b, err := v.heartbeatLocal(ctx, spec)
			if err != nil {
				b = brokenBackend{uri: spec.String(), err: err}
			}
			out = append(out, b)
			continue
		}
		if !opened {
			opened = true
			session, openErr = v.heartbeatSession(ctx, s, cfg)
			if errors.Is(openErr, errNoCeph) {
				closeAll()
				return nil, nil, ocf.Errorf(ocf.ErrInstalled, "cannot read heartbeat backend %s: %v", spec, openErr)
			}
		}
		switch r, ok := session.(cephapi.HeartbeatReader); {
		case openErr != nil:
			out = append(out, brokenBackend{uri: spec.String(), err: fmt.Errorf("cannot reach Ceph: %w", openErr)})
		case !ok:
			out = append(out, brokenBackend{uri: spec.String(), err: errors.New("this build cannot read rados:// heartbeat backends")})
		default:
			out = append(out, heartbeat.Guard(r.HeartbeatBackend(spec)))
		}
	}
	return out, closeAll, nil
}

// heartbeatSession opens the Ceph session of the rados:// backends: the
// resource's Ceph parameters, else what the domain's first RBD disk says.
func (v *vd) heartbeatSession(ctx context.Context, s settings, cfg *domainConfig) (cephapi.Inspector, error) {
	if err := checkCephFiles(ctx, s); err != nil {
		return nil, err
	}
	var d rbdDisk
	if len(cfg.RBDDisks) > 0 {
		d = cfg.RBDDisks[0]
	}
	return v.openCeph(ctx, v.cephAccessFor(s, d))
}

// brokenBackend is a backend that could not be opened: every call fails
// with why.
type brokenBackend struct {
	uri string
	err error
}

func (b brokenBackend) URI() string                                       { return b.uri }
func (b brokenBackend) Register(context.Context, string) error            { return b.err }
func (b brokenBackend) WriteRecord(context.Context, string, []byte) error { return b.err }
func (b brokenBackend) ReadRecord(context.Context, string) ([]byte, error) {
	return nil, b.err
}
func (b brokenBackend) WriteMessage(context.Context, string, []byte) error { return b.err }
func (b brokenBackend) ReadMessage(context.Context, string) ([]byte, error) {
	return nil, b.err
}
func (b brokenBackend) Hosts(context.Context) ([]string, error) { return nil, b.err }
func (b brokenBackend) Close() error                            { return nil }

// maxOwnRecordWait bounds the depth-20 monitor's read of this node's record.
const maxOwnRecordWait = 3 * time.Second

// checkOwnRecord is the depth-20 monitor's look at the guard's view of this
// node: its newest heartbeat record should list the running domain and its
// writable disks, or the guard on other nodes cannot see them. What is
// amiss is a warning, never a failure: restarting a healthy guest would not
// mend the heartbeat (a HostHeartbeat not running here, on other backends
// or another libvirt URI, an older daemon, a slot too full for the disks).
// A domain started less than three beats before the record was written is
// not looked for yet.
func (v *vd) checkOwnRecord(ctx context.Context, req *ocf.Request, s settings, h hypervisor, t target, uuid string) {
	specs, err := heartbeatSpecs(req)
	if err != nil {
		req.Log.Warnf("%v", err)
		return
	}
	if len(specs) == 0 || t.file == nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, min(maxOwnRecordWait, deadline.Remaining(ctx)/4))
	defer cancel()
	backends, closeAll, err := v.openHeartbeat(rctx, s, t.file.cfg, specs)
	if err != nil {
		req.Log.Warnf("heartbeat: %v", err)
		return
	}
	defer closeAll()
	self := nodeName(req)
	rec, errs := heartbeat.ReadNewest(rctx, backends, self)
	if rec == nil {
		why := "it has none on them"
		if len(errs) > 0 {
			why = fmt.Sprint(errors.Join(errs...))
		}
		req.Log.Warnf("heartbeat: this node's record cannot be read on %s (%s): other nodes' start guard does not see domain %s here",
			strings.Join(heartbeat.URIs(specs), " "), strings.ReplaceAll(why, "\n", "; "), t.name)
		return
	}
	if since, ok := v.startedAt(req); ok && rec.Time().Before(since.Add(3*rec.Interval())) {
		return // the domain is younger than the record's guest list
	}
	use := v.heartbeatUse(rctx, req, h, t.file, uuid)
	i := slices.IndexFunc(rec.Guests, use.SameDomain)
	switch {
	case i < 0 && rec.GuestsMore > 0:
		req.Log.Warnf("heartbeat: this node's record leaves %d guests out (its slot is full), domain %s among them: "+
			"other nodes' start guard refuses every start while this node is alive", rec.GuestsMore, t.name)
	case i < 0:
		req.Log.Warnf("heartbeat: this node's record (written %s) does not list domain %s: other nodes' start guard does not see it "+
			"(does HostHeartbeat run here, listing the guests of this hypervisor?)", rec.Time().Format(time.RFC3339), t.name)
	case !rec.GuestDisks:
		req.Log.Warnf("heartbeat: this node's record lists no disks (its daemon is an older kvmha: restart HostHeartbeat here): " +
			"other nodes' start guard refuses domains with writable disks while this node is alive")
	default:
		g := rec.Guests[i]
		for _, d := range use.Disks {
			if !d.Writable() || slices.ContainsFunc(g.Disks, func(o heartbeat.Disk) bool { return heartbeat.SameDisk(d, o) }) {
				continue
			}
			if g.DisksIncomplete {
				req.Log.Warnf("heartbeat: this node's record does not list all the disks of domain %s (its slot is full, or its XML "+
					"could not be read): other nodes' start guard refuses domains with writable disks while this node is alive", t.name)
			} else {
				req.Log.Warnf("heartbeat: this node's record does not list disk %s of domain %s as it runs here: the config file and "+
					"the running domain differ, or the disk is identified differently here", d.Describe(), t.name)
			}
			return
		}
	}
}

// startedAt is when this node's record of the domain was written (at the
// start, or the migration here).
func (v *vd) startedAt(req *ocf.Request) (time.Time, bool) {
	st, err := os.Stat(req.RecordPath())
	if err != nil {
		return time.Time{}, false
	}
	return st.ModTime(), true
}
