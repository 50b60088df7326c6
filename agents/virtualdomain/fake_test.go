package virtualdomain

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/heartbeattest"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// fakeDomain is one domain of the fake hypervisor.
type fakeDomain struct {
	name, uuid string
	state      libvirt.State
	persistent bool
	vcpus      int
	maxMemKiB  uint64
	xml        string
	// stopsOnShutdown: the guest powers off when asked (after
	// shutdownPolls more state queries).
	stopsOnShutdown bool
	shutdownPolls   int
	shuttingDown    bool
	// destroyFailures: how many destroy calls fail before one works.
	destroyFailures int
	// destroyHangs: destroy never returns before its context ends (libvirtd
	// waiting on a qemu stuck in I/O).
	destroyHangs bool
}

// fakeHV is a libvirtd in memory. hang makes the named method block until
// the call's context ends, like a SIGSTOPped daemon; after that the
// connection is broken, as a real one is.
type fakeHV struct {
	mu       sync.Mutex
	domains  map[string]*fakeDomain
	secrets  map[string]*fakeSecret // by UUID
	pools    map[string]string      // storage pool XML by name
	started  []string               // pools and networks started
	calls    []string
	hang     map[string]bool
	fail     map[string]error
	broken   bool
	dialErr  error
	dialHang bool
	// migration
	migrateSpec   libvirt.MigrateSpec
	migrateResult chan error // nil: migrations succeed at once
	jobActive     bool
	aborted       bool
	downtime      uint64
	// onUndefine runs when a domain is undefined (e.g. to delete its file).
	onUndefine func()
	restored   string
	saved      string
}

type fakeSecret struct {
	uuid, usage, xml string
	value            []byte
}

func newFakeHV() *fakeHV {
	return &fakeHV{domains: map[string]*fakeDomain{}, secrets: map[string]*fakeSecret{},
		pools: map[string]string{}, hang: map[string]bool{}, fail: map[string]error{}}
}

// down makes libvirtd refuse connections, as a stopped libvirtd does.
func (f *fakeHV) down() {
	f.dialErr = &libvirt.Error{Op: "connect", Kind: libvirt.ErrUnreachable, Err: errors.New("connection refused")}
}

func (f *fakeHV) add(d *fakeDomain) *fakeDomain {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d.vcpus == 0 {
		d.vcpus = 1
	}
	if d.maxMemKiB == 0 {
		d.maxMemKiB = 131072
	}
	if d.uuid == "" {
		d.uuid = fakeUUID(d.name)
	}
	f.domains[d.name] = d
	return d
}

func (f *fakeHV) domain(name string) *fakeDomain {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.domains[name]
}

func (f *fakeHV) called(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

func (f *fakeHV) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// enter records a call and applies hang, fail and broken.
func (f *fakeHV) enter(ctx context.Context, op string) error {
	f.mu.Lock()
	f.calls = append(f.calls, op)
	hang, fail, broken := f.hang[op], f.fail[op], f.broken
	f.mu.Unlock()
	if broken {
		return &libvirt.Error{Op: op, Kind: libvirt.ErrUnreachable, Err: errors.New("connection closed")}
	}
	if hang {
		<-ctx.Done()
		f.mu.Lock()
		f.broken = true
		f.mu.Unlock()
		return &libvirt.Error{Op: op, Kind: libvirt.ErrUnreachable, Err: ctx.Err()}
	}
	return fail
}

func notFound(op string) error {
	return &libvirt.Error{Op: op, Kind: libvirt.ErrNotFound, Code: 42, Err: errors.New("no domain")}
}

func (f *fakeHV) dial(ctx context.Context, uri string) (hypervisor, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "dial "+uri)
	err, hang := f.dialErr, f.dialHang
	f.broken = false
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, &libvirt.Error{Op: "connect", Kind: libvirt.ErrUnreachable, Err: ctx.Err()}
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// find resolves a handle by UUID, as libvirt does.
func (f *fakeHV) find(d libvirt.Domain) *fakeDomain {
	for _, fd := range f.domains {
		if fd.uuid == d.UUID {
			return fd
		}
	}
	return nil
}

func (f *fakeHV) ref(fd *fakeDomain) libvirt.Domain {
	d, err := libvirt.DomainRef(fd.name, fd.uuid)
	if err != nil {
		panic(err)
	}
	return d
}

// fakeUUID makes a stable UUID for a domain defined without one.
func fakeUUID(name string) string {
	sum := md5.Sum([]byte(name))
	h := hex.EncodeToString(sum[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (f *fakeHV) DomainByName(ctx context.Context, name string) (libvirt.Domain, error) {
	if err := f.enter(ctx, "DomainByName"); err != nil {
		return libvirt.Domain{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fd, ok := f.domains[name]
	if !ok {
		return libvirt.Domain{}, notFound("lookup")
	}
	return f.ref(fd), nil
}

func (f *fakeHV) DomainInfo(ctx context.Context, d libvirt.Domain) (libvirt.Info, error) {
	if err := f.enter(ctx, "DomainInfo"); err != nil {
		return libvirt.Info{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fd := f.find(d)
	if fd == nil {
		return libvirt.Info{}, notFound("info")
	}
	if fd.shuttingDown && fd.stopsOnShutdown {
		if fd.shutdownPolls <= 0 {
			f.vanish(fd)
			if _, still := f.domains[fd.name]; !still {
				return libvirt.Info{}, notFound("info")
			}
		} else {
			fd.shutdownPolls--
		}
	}
	return libvirt.Info{State: fd.state, MaxMemKiB: fd.maxMemKiB, MemKiB: fd.maxMemKiB, VCPUs: fd.vcpus}, nil
}

// vanish turns a domain off: transient ones disappear.
func (f *fakeHV) vanish(fd *fakeDomain) {
	fd.state, fd.shuttingDown = libvirt.StateShutoff, false
	if !fd.persistent {
		delete(f.domains, fd.name)
	}
}

func (f *fakeHV) DomainXML(ctx context.Context, d libvirt.Domain, inactive, secure bool) (string, error) {
	if err := f.enter(ctx, "DomainXML"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if fd := f.find(d); fd != nil {
		return fd.xml, nil
	}
	return "", notFound("xml")
}

func (f *fakeHV) IsPersistent(ctx context.Context, d libvirt.Domain) (bool, error) {
	if err := f.enter(ctx, "IsPersistent"); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if fd := f.find(d); fd != nil {
		return fd.persistent, nil
	}
	return false, notFound("persistent")
}

func (f *fakeHV) CreateTransient(ctx context.Context, xml string) (libvirt.Domain, error) {
	if err := f.enter(ctx, "CreateTransient"); err != nil {
		return libvirt.Domain{}, err
	}
	cfg, err := parseDomainXML([]byte(xml))
	if err != nil {
		return libvirt.Domain{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if fd, ok := f.domains[cfg.Name]; ok && fd.state != libvirt.StateShutoff {
		return libvirt.Domain{}, fmt.Errorf("domain %s already exists", cfg.Name)
	}
	uuid := cfg.UUID
	if uuid == "" {
		uuid = fakeUUID(cfg.Name)
	}
	fd := &fakeDomain{name: cfg.Name, uuid: uuid, state: libvirt.StateRunning, vcpus: 1,
		maxMemKiB: 131072, xml: xml, stopsOnShutdown: true}
	f.domains[cfg.Name] = fd
	return f.ref(fd), nil
}

func (f *fakeHV) Undefine(ctx context.Context, d libvirt.Domain) error {
	if err := f.enter(ctx, "Undefine"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fd := f.find(d)
	if fd == nil {
		return notFound("undefine")
	}
	fd.persistent = false
	if fd.state == libvirt.StateShutoff {
		delete(f.domains, fd.name)
	}
	if f.onUndefine != nil {
		f.onUndefine()
	}
	return nil
}

func (f *fakeHV) Shutdown(ctx context.Context, d libvirt.Domain, mode libvirt.ShutdownMode) error {
	if err := f.enter(ctx, fmt.Sprintf("Shutdown mode=%d", mode)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fd := f.find(d)
	if fd == nil {
		return notFound("shutdown")
	}
	fd.shuttingDown = true
	return nil
}

func (f *fakeHV) Destroy(ctx context.Context, d libvirt.Domain) error {
	if err := f.enter(ctx, "Destroy"); err != nil {
		return err
	}
	f.mu.Lock()
	fd := f.find(d)
	if fd != nil && fd.destroyHangs {
		f.mu.Unlock()
		<-ctx.Done()
		return &libvirt.Error{Op: "destroy", Kind: libvirt.ErrUnreachable, Err: fmt.Errorf("no answer from libvirtd in time: %w", ctx.Err())}
	}
	defer f.mu.Unlock()
	if fd == nil {
		return notFound("destroy")
	}
	if fd.destroyFailures > 0 {
		fd.destroyFailures--
		return &libvirt.Error{Op: "destroy", Code: 38, Err: errors.New("Failed to terminate process: Device or resource busy")}
	}
	if fd.state == libvirt.StateShutoff {
		return &libvirt.Error{Op: "destroy", Kind: libvirt.ErrInvalidOperation, Code: 55, Err: errors.New("domain is not running")}
	}
	f.vanish(fd)
	return nil
}

func (f *fakeHV) Save(ctx context.Context, d libvirt.Domain, path string) error {
	if err := f.enter(ctx, "Save"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if fd := f.find(d); fd != nil {
		f.saved = path
		f.vanish(fd)
		return nil
	}
	return notFound("save")
}

func (f *fakeHV) Restore(ctx context.Context, path string) error {
	if err := f.enter(ctx, "Restore"); err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restored = path
	name := strings.TrimSpace(string(data))
	f.domains[name] = &fakeDomain{name: name, uuid: fakeUUID(name), state: libvirt.StateRunning, vcpus: 1, maxMemKiB: 131072}
	return nil
}

func (f *fakeHV) AgentPing(ctx context.Context, d libvirt.Domain, timeoutSec int) error {
	return f.enter(ctx, "AgentPing")
}

func (f *fakeHV) Migrate(ctx context.Context, d libvirt.Domain, spec libvirt.MigrateSpec) error {
	if err := f.enter(ctx, "Migrate"); err != nil {
		return err
	}
	f.mu.Lock()
	f.migrateSpec, f.jobActive = spec, true
	result := f.migrateResult
	f.mu.Unlock()
	var err error
	if result != nil {
		select {
		case err = <-result:
		case <-ctx.Done():
			return &libvirt.Error{Op: "migrate", Kind: libvirt.ErrUnreachable, Err: ctx.Err()}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobActive = false
	if err == nil {
		if fd := f.find(d); fd != nil {
			delete(f.domains, fd.name)
		}
	}
	return err
}

func (f *fakeHV) JobProgress(ctx context.Context, d libvirt.Domain) (libvirt.JobProgress, error) {
	if err := f.enter(ctx, "JobProgress"); err != nil {
		return libvirt.JobProgress{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return libvirt.JobProgress{Active: f.jobActive}, nil
}

func (f *fakeHV) AbortJob(ctx context.Context, d libvirt.Domain) error {
	if err := f.enter(ctx, "AbortJob"); err != nil {
		return err
	}
	f.mu.Lock()
	f.aborted = true
	result := f.migrateResult
	f.mu.Unlock()
	if result != nil {
		result <- errors.New("operation aborted: migration out job: canceled by client")
	}
	return nil
}

func (f *fakeHV) SetMigrationMaxDowntime(ctx context.Context, d libvirt.Domain, ms uint64) error {
	if err := f.enter(ctx, "SetMigrationMaxDowntime"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.downtime = ms
	return nil
}

func (f *fakeHV) SecretByUUID(ctx context.Context, uuid string) (libvirt.Secret, error) {
	if err := f.enter(ctx, "SecretByUUID"); err != nil {
		return libvirt.Secret{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.secrets[uuid]; ok {
		return libvirt.Secret{UUID: s.uuid, Usage: s.usage}, nil
	}
	return libvirt.Secret{}, &libvirt.Error{Op: "secret", Kind: libvirt.ErrNotFound, Code: 66}
}

func (f *fakeHV) CephSecretByUsage(ctx context.Context, usage string) (libvirt.Secret, error) {
	if err := f.enter(ctx, "CephSecretByUsage"); err != nil {
		return libvirt.Secret{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.secrets {
		if s.usage == usage {
			return libvirt.Secret{UUID: s.uuid, Usage: s.usage}, nil
		}
	}
	return libvirt.Secret{}, &libvirt.Error{Op: "secret", Kind: libvirt.ErrNotFound, Code: 66}
}

func (f *fakeHV) DefineSecret(ctx context.Context, xml string) (libvirt.Secret, error) {
	if err := f.enter(ctx, "DefineSecret"); err != nil {
		return libvirt.Secret{}, err
	}
	uuid := between(xml, "<uuid>", "</uuid>")
	if uuid == "" {
		uuid = "generated-" + between(xml, "<name>", "</name>")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[uuid] = &fakeSecret{uuid: uuid, usage: between(xml, "<name>", "</name>"), xml: xml}
	return libvirt.Secret{UUID: uuid, Usage: f.secrets[uuid].usage}, nil
}

func (f *fakeHV) SetSecretValue(ctx context.Context, s libvirt.Secret, value []byte) error {
	if err := f.enter(ctx, "SetSecretValue"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[s.UUID].value = append([]byte(nil), value...)
	return nil
}

func (f *fakeHV) StoragePoolXML(ctx context.Context, name string) (string, error) {
	if err := f.enter(ctx, "StoragePoolXML"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if xml, ok := f.pools[name]; ok {
		return xml, nil
	}
	return "", &libvirt.Error{Op: "pool", Kind: libvirt.ErrNotFound, Code: 49}
}

func (f *fakeHV) EnsureStoragePoolActive(ctx context.Context, name string) error {
	if err := f.enter(ctx, "EnsureStoragePoolActive"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, "pool "+name)
	return nil
}

func (f *fakeHV) EnsureNetworkActive(ctx context.Context, name string) error {
	if err := f.enter(ctx, "EnsureNetworkActive"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, "network "+name)
	return nil
}

func (f *fakeHV) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "Close")
	return nil
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

// fakeQemu is the process table: pids per domain name.
type fakeQemu struct {
	mu    sync.Mutex
	procs map[string][]int
	err   error
	// dieOn: which signal makes the processes exit ("term", "kill", "never").
	dieOn   string
	signals []string
}

func (q *fakeQemu) Find(name, uuid string) ([]int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return nil, q.err
	}
	return append([]int(nil), q.procs[name]...), nil
}

func (q *fakeQemu) Terminate(pid int, kill bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	sig := "term"
	if kill {
		sig = "kill"
	}
	q.signals = append(q.signals, fmt.Sprintf("%s %d", sig, pid))
	if q.dieOn == sig || (q.dieOn == "term" && kill) {
		for name, pids := range q.procs {
			var left []int
			for _, p := range pids {
				if p != pid {
					left = append(left, p)
				}
			}
			q.procs[name] = left
		}
	}
	return nil
}

// fakeCeph answers cephapi questions from a table of image statuses.
type fakeCeph struct {
	mu       sync.Mutex
	images   map[string]cephapi.Status
	openErr  error
	opened   []cephapi.Access
	inspects int
	// clearAfter: holders disappear after this many inspections (0: never).
	clearAfter int
	// fenced lists the client instances FenceClient blocklisted.
	fenced []string
	// hb are the rados:// heartbeat backends its session reads, by URI (the
	// harness's map).
	hb map[string]*heartbeattest.MemoryStore
}

// HeartbeatBackend reads a rados:// heartbeat backend (cephapi.HeartbeatReader):
// one the test did not set up is empty.
func (c *fakeCeph) HeartbeatBackend(spec heartbeat.Spec) heartbeat.Backend {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.hb[spec.String()]; st != nil {
		return st.View()
	}
	return heartbeattest.NewMemoryStore(spec.String()).View()
}

func (c *fakeCeph) open(ctx context.Context, a cephapi.Access) (cephapi.Inspector, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opened = append(c.opened, a)
	if c.openErr != nil {
		return nil, c.openErr
	}
	return c, nil
}

func (c *fakeCeph) Inspect(ctx context.Context, img cephapi.Image) (cephapi.Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inspects++
	st, ok := c.images[img.String()]
	if !ok {
		return cephapi.Status{}, nil
	}
	if c.clearAfter > 0 && c.inspects > c.clearAfter {
		st.Holders = nil
	}
	return st, nil
}

// FenceClient marks every holder at address blocklisted.
func (c *fakeCeph) FenceClient(_ context.Context, address string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fenced = append(c.fenced, address)
	for name, st := range c.images {
		hs := append([]cephapi.Holder(nil), st.Holders...)
		for i := range hs {
			if hs[i].Address == address {
				hs[i].Blocklisted = true
			}
		}
		st.Holders = hs
		c.images[name] = st
	}
	return nil
}

func (c *fakeCeph) Close() {}

func holder(ip string, client string, blocklisted bool) cephapi.Holder {
	return cephapi.Holder{Address: ip + ":0/1234", IP: netip.MustParseAddr(ip), Client: client,
		Kind: "watcher", Blocklisted: blocklisted}
}
