package fencelibvirt

import (
	"context"
	"errors"
	"sort"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// power maps a domain state to the fence view: only a shut-off domain is
// off. A crashed or paused guest still has a qemu process that holds its
// disks, so it is on until destroyed.
func power(s libvirt.State) fence.Power {
	if s == libvirt.StateShutoff {
		return fence.PowerOff
	}
	return fence.PowerOn
}

// validate checks the options before every action: where libvirtd is,
// and that the files the dial reads (TLS client files, ssh keys and known
// hosts files) can be read, bounded, without connecting. It runs
// password_script when ssh needs a password.
func (f *fencer) validate(ctx context.Context, r *fence.Request) error {
	_, err := f.target(ctx, r)
	return err
}

// domain connects and looks the plug up.
func (f *fencer) domain(ctx context.Context, r *fence.Request) (hypervisor, libvirt.Domain, error) {
	h, err := f.connect(ctx, r)
	if err != nil {
		return nil, libvirt.Domain{}, err
	}
	d, err := h.LookupDomain(ctx, r.Plug)
	return h, d, err
}

func (f *fencer) status(ctx context.Context, r *fence.Request) (fence.Power, error) {
	h, d, err := f.domain(ctx, r)
	if errors.Is(err, libvirt.ErrNotFound) && r.Values.Bool(optMissingAsOff) {
		r.Log.Debugf("domain %q does not exist: off (missing_as_off)", agentlog.Clip(r.Plug))
		return fence.PowerOff, nil
	}
	if err != nil {
		return fence.PowerUnknown, err
	}
	s, err := h.DomainState(ctx, d)
	if err != nil {
		return fence.PowerUnknown, err
	}
	r.Log.Debugf("domain %s (%s) is %s", d.Name, d.UUID, s)
	return power(s), nil
}

// off destroys the domain; one that stopped meanwhile is fine.
func (f *fencer) off(ctx context.Context, r *fence.Request) error {
	h, d, err := f.domain(ctx, r)
	if errors.Is(err, libvirt.ErrNotFound) && r.Values.Bool(optMissingAsOff) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := h.Destroy(ctx, d); err != nil && !errors.Is(err, libvirt.ErrInvalidOperation) {
		return err
	}
	return nil
}

// on starts the (defined) domain.
func (f *fencer) on(ctx context.Context, r *fence.Request) error {
	h, d, err := f.domain(ctx, r)
	if err != nil {
		return err
	}
	return h.Start(ctx, d)
}

// list prints name,UUID of every domain; list-status adds its state.
func (f *fencer) list(ctx context.Context, r *fence.Request) ([]fence.Plug, error) {
	h, err := f.connect(ctx, r)
	if err != nil {
		return nil, err
	}
	ds, err := h.ListDomains(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
	plugs := make([]fence.Plug, len(ds))
	for i, d := range ds {
		plugs[i] = fence.Plug{ID: d.Name, Alias: d.UUID}
		if r.Action == fence.ActionListStatus {
			if s, err := h.DomainState(ctx, d); err == nil {
				plugs[i].State = power(s)
			}
		}
	}
	return plugs, nil
}
