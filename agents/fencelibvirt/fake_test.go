package fencelibvirt

import (
	"context"
	"fmt"
	"sync"

	"github.com/kvmha/kvmha/internal/libvirt"
)

// fakeHypervisor holds domains by name: state and whether defined.
type fakeHypervisor struct {
	mu      sync.Mutex
	domains map[string]*fakeDomain
	calls   []string
}

type fakeDomain struct {
	uuid  string
	state libvirt.State
}

func newFakeHypervisor() *fakeHypervisor {
	return &fakeHypervisor{domains: map[string]*fakeDomain{
		"guest1": {uuid: "11111111-2222-3333-4444-555555555555", state: libvirt.StateRunning},
		"guest2": {uuid: "66666666-7777-8888-9999-aaaaaaaaaaaa", state: libvirt.StateShutoff},
		"guest3": {uuid: "bbbbbbbb-cccc-dddd-eeee-ffffffffffff", state: libvirt.StatePaused},
	}}
}

func (h *fakeHypervisor) record(call string) { h.calls = append(h.calls, call) }

func (h *fakeHypervisor) LookupDomain(_ context.Context, key string) (libvirt.Domain, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, d := range h.domains {
		if name == key || d.uuid == key {
			return libvirt.DomainRef(name, d.uuid)
		}
	}
	return libvirt.Domain{}, &libvirt.Error{Op: "look up domain " + key, Kind: libvirt.ErrNotFound}
}

func (h *fakeHypervisor) DomainState(_ context.Context, d libvirt.Domain) (libvirt.State, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.domains[d.Name].state, nil
}

func (h *fakeHypervisor) Destroy(_ context.Context, d libvirt.Domain) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.record("destroy " + d.Name)
	if h.domains[d.Name].state == libvirt.StateShutoff {
		return &libvirt.Error{Op: "destroy", Kind: libvirt.ErrInvalidOperation}
	}
	h.domains[d.Name].state = libvirt.StateShutoff
	return nil
}

func (h *fakeHypervisor) Start(_ context.Context, d libvirt.Domain) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.record("start " + d.Name)
	if h.domains[d.Name].state != libvirt.StateShutoff {
		return fmt.Errorf("domain is already running")
	}
	h.domains[d.Name].state = libvirt.StateRunning
	return nil
}

func (h *fakeHypervisor) ListDomains(context.Context) ([]libvirt.Domain, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []libvirt.Domain
	for name, d := range h.domains {
		dom, _ := libvirt.DomainRef(name, d.uuid)
		out = append(out, dom)
	}
	return out, nil
}
