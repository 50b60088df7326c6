package virtualdomain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// target is the domain an action is about.
type target struct {
	name string
	uuid string
	// uri is the libvirt URI of the hypervisor the domain runs on.
	uri string
	// file is the parsed config file; nil when the action only knows the
	// domain from this node's record (the file is unreadable, or the
	// parameters cannot be used).
	file *domainFile
	// recorded: the target comes from this node's record, and localQemu is
	// what the record says about where its process runs.
	recorded  bool
	localQemu bool
	// storageLost is the record's StorageLost: stop destroys the domain at once.
	storageLost string
}

func targetOf(df *domainFile, uri string) target {
	return target{name: df.cfg.Name, uuid: df.cfg.UUID, uri: uri, file: df}
}

// whyNotLocal says why this host's process table cannot tell whether the
// domain runs (to follow "libvirtd URI does not answer, and"), "" when it
// can: a qemu/kvm domain of a libvirtd on this host
// runs as a qemu process here, which the agent finds in /proc without
// libvirtd. Another domain type has no such process; a domain of a remote
// libvirtd has its qemu on that host, so finding none here proves nothing.
func (v *vd) whyNotLocal(t target) string {
	if t.recorded {
		if !t.localQemu {
			return "this node's record says its qemu is not on this host"
		}
		return ""
	}
	if t.file != nil {
		switch t.file.cfg.Type {
		case "kvm", "qemu", "":
		default:
			return fmt.Sprintf("a domain of type %s runs no qemu process", agentlog.Clip(t.file.cfg.Type))
		}
	}
	if !v.isLocalURI(t.uri) {
		return "its qemu runs on that host, not this one"
	}
	return ""
}

// observation is what libvirtd says about the domain.
type observation struct {
	dom   libvirt.Domain
	found bool
	info  libvirt.Info
}

// active: the domain exists and holds its resources (running, paused,
// blocked, being shut down, or suspended to RAM).
func (o observation) active() bool {
	if !o.found {
		return false
	}
	switch o.info.State {
	case libvirt.StateRunning, libvirt.StateBlocked, libvirt.StatePaused,
		libvirt.StateShutdown, libvirt.StatePMSuspended:
		return true
	}
	return false
}

// stopped: the domain does not exist or is shut off.
func (o observation) stopped() bool {
	return !o.found || o.info.State == libvirt.StateShutoff
}

// observe asks libvirtd for the domain's state. With a UUID it costs one
// round trip (libvirt finds domains by UUID); otherwise, or when no domain
// has that UUID, the domain is looked up by name.
func observe(ctx context.Context, h hypervisor, t target) (observation, error) {
	if t.uuid != "" {
		if ref, err := libvirt.DomainRef(t.name, t.uuid); err == nil {
			info, err := h.DomainInfo(ctx, ref)
			if err == nil {
				return observation{dom: ref, found: true, info: info}, nil
			}
			if !errors.Is(err, libvirt.ErrNotFound) {
				return observation{}, err
			}
		}
	}
	dom, err := h.DomainByName(ctx, t.name)
	if errors.Is(err, libvirt.ErrNotFound) {
		return observation{}, nil
	}
	if err != nil {
		return observation{}, err
	}
	info, err := h.DomainInfo(ctx, dom)
	if errors.Is(err, libvirt.ErrNotFound) { // gone between the two calls
		return observation{}, nil
	}
	if err != nil {
		return observation{}, err
	}
	return observation{dom: dom, found: true, info: info}, nil
}

// observeSettled is observe that waits out "no state", which libvirt
// reports while a domain is being set up (an incoming migration). It
// returns the last observation when ctx ends first.
func (v *vd) observeSettled(ctx context.Context, h hypervisor, t target) (observation, error) {
	for {
		obs, err := observe(ctx, h, t)
		if err != nil || !obs.found || obs.info.State != libvirt.StateNoState {
			return obs, err
		}
		if deadline.Sleep(ctx, v.poll) != nil {
			return obs, nil
		}
	}
}

// earlier returns a context that ends reserve before ctx's deadline (or
// with ctx when that leaves no time), for phases that must leave time for
// what comes after them.
func earlier(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}

// reserveFor picks how much of what is left to hold back for a fallback:
// a quarter, between min and max.
func reserveFor(ctx context.Context, lo, hi time.Duration) time.Duration {
	return min(max(deadline.Remaining(ctx)/4, lo), hi)
}
