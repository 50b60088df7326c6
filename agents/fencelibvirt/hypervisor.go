package fencelibvirt

import (
	"context"
	"sync"

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

func dialLibvirt(ctx context.Context, uri string) (hypervisor, error) {
	return libvirt.Dial(ctx, uri)
}

// deps is what fence_libvirt takes from outside its process; tests fill it with fakes.
type deps struct {
	dial func(ctx context.Context, uri string) (hypervisor, error)
}

// productionDeps dials libvirtd.
func productionDeps() deps { return deps{dial: dialLibvirt} }

// fencer holds one run's connection: the runtime calls status before and
// after on and off, and all share it.
type fencer struct {
	deps

	mu   sync.Mutex
	conn hypervisor
}

func (f *fencer) connect(ctx context.Context, uri string) (hypervisor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		return f.conn, nil
	}
	c, err := f.dial(ctx, uri)
	if err != nil {
		return nil, err
	}
	f.conn = c
	return c, nil
}
