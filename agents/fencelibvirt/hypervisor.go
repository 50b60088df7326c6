package fencelibvirt

import (
	"context"
	"strings"
	"sync"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// hypervisor is what fence_libvirt needs from libvirtd; *libvirt.Conn is
// one, tests use a fake.
type hypervisor interface {
	LookupDomain(ctx context.Context, nameOrUUID string) (libvirt.Domain, error)
	DomainState(ctx context.Context, d libvirt.Domain) (libvirt.State, error)
	Destroy(ctx context.Context, d libvirt.Domain) error
	Start(ctx context.Context, d libvirt.Domain) error
	ListDomains(ctx context.Context) ([]libvirt.Domain, error)
}

func dialLibvirt(ctx context.Context, uri string, opts libvirt.DialOptions) (hypervisor, error) {
	return libvirt.DialWith(ctx, uri, opts)
}

// deps is what fence_libvirt takes from outside its process; tests fill it with fakes.
type deps struct {
	dial func(ctx context.Context, uri string, opts libvirt.DialOptions) (hypervisor, error)
}

// productionDeps dials libvirtd.
func productionDeps() deps { return deps{dial: dialLibvirt} }

// fencer holds one run's target and connection: the runtime validates,
// then calls status before and after on and off, and all share them.
type fencer struct {
	deps

	mu       sync.Mutex
	resolved *target
	conn     hypervisor
}

// target resolves the options once per run (password_script runs once),
// and logs what the options left unused and the files' warnings then.
func (f *fencer) target(ctx context.Context, r *fence.Request) (*target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.resolved != nil {
		return f.resolved, nil
	}
	t, err := resolve(ctx, r.Values)
	if err != nil {
		return nil, err
	}
	for _, w := range t.warnings {
		r.Log.Warnf("%s", w)
	}
	if len(t.notes) > 0 {
		r.Log.Infof("not used by fence_libvirt: %s", strings.Join(t.notes, "; "))
	}
	t.opts.Logf = func(format string, args ...any) {
		if strings.HasPrefix(format, "WARNING") {
			r.Log.Warnf(format, args...)
		} else {
			r.Log.Infof(format, args...)
		}
	}
	f.resolved = t
	return t, nil
}

// connect dials the target once per run.
func (f *fencer) connect(ctx context.Context, r *fence.Request) (hypervisor, error) {
	t, err := f.target(ctx, r)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		return f.conn, nil
	}
	r.Log.Debugf("connecting to %s", agentlog.Clip(t.uri))
	c, err := f.dial(ctx, t.uri, t.opts)
	if err != nil {
		return nil, err
	}
	f.conn = c
	return c, nil
}
