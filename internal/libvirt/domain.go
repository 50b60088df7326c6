package libvirt

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// Domain identifies a domain on one connection.
type Domain struct {
	Name string
	UUID string // canonical 8-4-4-4-12 form
	// ID is the hypervisor's id of a running domain, -1 when inactive.
	ID  int
	ref golibvirt.Domain
}

// State is a domain's run state (virDomainState).
type State int

// The values of virDomainState.
const (
	StateNoState     State = 0
	StateRunning     State = 1
	StateBlocked     State = 2
	StatePaused      State = 3
	StateShutdown    State = 4 // being shut down
	StateShutoff     State = 5
	StateCrashed     State = 6
	StatePMSuspended State = 7
)

var stateNames = map[State]string{
	StateNoState: "no state", StateRunning: "running", StateBlocked: "blocked",
	StatePaused: "paused", StateShutdown: "in shutdown", StateShutoff: "shut off",
	StateCrashed: "crashed", StatePMSuspended: "pmsuspended",
}

// String is virsh's name for the state.
func (s State) String() string {
	if name, ok := stateNames[s]; ok {
		return name
	}
	return fmt.Sprintf("state %d", int(s))
}

// Info is what virDomainGetInfo returns, in one round trip.
type Info struct {
	State     State
	MaxMemKiB uint64
	MemKiB    uint64
	VCPUs     int
}

func newDomain(d golibvirt.Domain) Domain {
	return Domain{Name: d.Name, UUID: formatUUID(d.UUID), ID: int(d.ID), ref: d}
}

// DomainByName looks a domain up by name.
func (c *Conn) DomainByName(ctx context.Context, name string) (Domain, error) {
	d, err := call(ctx, c, "look up domain "+boundedText(name), func() (golibvirt.Domain, error) {
		return c.rpc.DomainLookupByName(name)
	})
	if err != nil {
		return Domain{}, err
	}
	return newDomain(d), nil
}

// DomainByUUID looks a domain up by UUID (any common text form).
func (c *Conn) DomainByUUID(ctx context.Context, uuid string) (Domain, error) {
	u, err := ParseUUID(uuid)
	if err != nil {
		return Domain{}, &Error{Op: "look up domain " + boundedText(uuid), Err: err}
	}
	d, err := call(ctx, c, "look up domain "+boundedText(uuid), func() (golibvirt.Domain, error) {
		return c.rpc.DomainLookupByUUID(u)
	})
	if err != nil {
		return Domain{}, err
	}
	return newDomain(d), nil
}

// LookupDomain finds a domain by UUID when nameOrUUID is one, else by name.
func (c *Conn) LookupDomain(ctx context.Context, nameOrUUID string) (Domain, error) {
	if _, err := ParseUUID(nameOrUUID); err == nil {
		return c.DomainByUUID(ctx, nameOrUUID)
	}
	return c.DomainByName(ctx, nameOrUUID)
}

// DomainRef builds a handle from a known name and UUID without a lookup.
// libvirt finds domains by UUID, so a call on the handle costs one round
// trip, and fails with ErrNotFound when no domain has that UUID.
func DomainRef(name, uuid string) (Domain, error) {
	u, err := ParseUUID(uuid)
	if err != nil {
		return Domain{}, err
	}
	return newDomain(golibvirt.Domain{Name: name, UUID: u, ID: -1}), nil
}

// ListDomains returns every domain, running or only defined.
func (c *Conn) ListDomains(ctx context.Context) ([]Domain, error) {
	ds, err := call(ctx, c, "list domains", func() ([]golibvirt.Domain, error) {
		ds, _, err := c.rpc.ConnectListAllDomains(1,
			golibvirt.ConnectListDomainsActive|golibvirt.ConnectListDomainsInactive)
		return ds, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Domain, len(ds))
	for i, d := range ds {
		out[i] = newDomain(d)
	}
	return out, nil
}

// DomainState returns the domain's state.
func (c *Conn) DomainState(ctx context.Context, d Domain) (State, error) {
	return call(ctx, c, "state of "+d.Name, func() (State, error) {
		state, _, err := c.rpc.DomainGetState(d.ref, 0)
		return State(state), err
	})
}

// DomainInfo returns state, memory and vCPU count in one round trip.
func (c *Conn) DomainInfo(ctx context.Context, d Domain) (Info, error) {
	return call(ctx, c, "info of "+d.Name, func() (Info, error) {
		state, maxMem, mem, vcpus, _, err := c.rpc.DomainGetInfo(d.ref)
		return Info{State: State(state), MaxMemKiB: maxMem, MemKiB: mem, VCPUs: int(vcpus)}, err
	})
}

// DomainXML returns the domain's XML; inactive asks for the persistent
// definition, secure includes security-sensitive parts (as virsh
// dumpxml --inactive --security-info does).
func (c *Conn) DomainXML(ctx context.Context, d Domain, inactive, secure bool) (string, error) {
	var flags golibvirt.DomainXMLFlags
	if inactive {
		flags |= golibvirt.DomainXMLInactive
	}
	if secure {
		flags |= golibvirt.DomainXMLSecure
	}
	return call(ctx, c, "XML of "+d.Name, func() (string, error) {
		return c.rpc.DomainGetXMLDesc(d.ref, flags)
	})
}

// CreateTransient starts a transient domain from XML (virsh create).
func (c *Conn) CreateTransient(ctx context.Context, xml string) (Domain, error) {
	d, err := call(ctx, c, "create domain", func() (golibvirt.Domain, error) {
		return c.rpc.DomainCreateXML(xml, golibvirt.DomainNone)
	})
	if err != nil {
		return Domain{}, err
	}
	return newDomain(d), nil
}

// Define makes a persistent domain from XML (virsh define).
func (c *Conn) Define(ctx context.Context, xml string) (Domain, error) {
	d, err := call(ctx, c, "define domain", func() (golibvirt.Domain, error) {
		return c.rpc.DomainDefineXML(xml)
	})
	if err != nil {
		return Domain{}, err
	}
	return newDomain(d), nil
}

// Start boots a defined domain (virsh start).
func (c *Conn) Start(ctx context.Context, d Domain) error {
	return c.do(ctx, "start "+d.Name, func() error { return c.rpc.DomainCreate(d.ref) })
}

// Undefine removes a persistent definition; a running domain becomes
// transient.
func (c *Conn) Undefine(ctx context.Context, d Domain) error {
	return c.do(ctx, "undefine "+d.Name, func() error { return c.rpc.DomainUndefine(d.ref) })
}

// IsPersistent reports whether the domain has a persistent definition.
func (c *Conn) IsPersistent(ctx context.Context, d Domain) (bool, error) {
	return call(ctx, c, "persistence of "+d.Name, func() (bool, error) {
		p, err := c.rpc.DomainIsPersistent(d.ref)
		return p == 1, err
	})
}

// ShutdownMode selects how a guest is asked to shut down; zero lets the
// hypervisor choose. Modes can be combined; libvirt tries them in its order.
type ShutdownMode uint32

// Shutdown modes (virDomainShutdownFlagValues).
const (
	ShutdownDefault  ShutdownMode = 0
	ShutdownACPI     ShutdownMode = ShutdownMode(golibvirt.DomainShutdownAcpiPowerBtn)
	ShutdownAgent    ShutdownMode = ShutdownMode(golibvirt.DomainShutdownGuestAgent)
	ShutdownInitctl  ShutdownMode = ShutdownMode(golibvirt.DomainShutdownInitctl)
	ShutdownSignal   ShutdownMode = ShutdownMode(golibvirt.DomainShutdownSignal)
	ShutdownParavirt ShutdownMode = ShutdownMode(golibvirt.DomainShutdownParavirt)
)

// ParseShutdownMode reads virsh shutdown's --mode argument: a comma-separated
// list of acpi, agent, initctl, signal and paravirt.
func ParseShutdownMode(s string) (ShutdownMode, error) {
	names := map[string]ShutdownMode{"acpi": ShutdownACPI, "agent": ShutdownAgent,
		"initctl": ShutdownInitctl, "signal": ShutdownSignal, "paravirt": ShutdownParavirt}
	var mode ShutdownMode
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		m, ok := names[part]
		if !ok {
			return 0, fmt.Errorf("unknown shutdown mode %q (use acpi, agent, initctl, signal or paravirt)", part)
		}
		mode |= m
	}
	return mode, nil
}

// Shutdown asks the guest to shut down and returns without waiting.
func (c *Conn) Shutdown(ctx context.Context, d Domain, mode ShutdownMode) error {
	return c.do(ctx, "shut down "+d.Name, func() error {
		return c.rpc.DomainShutdownFlags(d.ref, golibvirt.DomainShutdownFlagValues(mode))
	})
}

// Destroy stops the domain at once (virsh destroy). A domain that is not
// running gives ErrInvalidOperation.
func (c *Conn) Destroy(ctx context.Context, d Domain) error {
	return c.do(ctx, "destroy "+d.Name, func() error { return c.rpc.DomainDestroy(d.ref) })
}

// Save stops the domain, writing its memory to path on the libvirtd host.
func (c *Conn) Save(ctx context.Context, d Domain, path string) error {
	return c.do(ctx, "save "+d.Name, func() error { return c.rpc.DomainSave(d.ref, path) })
}

// Restore starts a domain from a file written by Save.
func (c *Conn) Restore(ctx context.Context, path string) error {
	return c.do(ctx, "restore "+path, func() error { return c.rpc.DomainRestore(path) })
}

// AgentPing sends guest-ping to the qemu guest agent and waits up to
// timeoutSec for its answer. It fails (ErrUnsupported or a libvirt agent
// error) when the guest has no responsive agent.
func (c *Conn) AgentPing(ctx context.Context, d Domain, timeoutSec int) error {
	return c.do(ctx, "guest agent ping of "+d.Name, func() error {
		_, err := c.rpc.QEMUDomainAgentCommand(d.ref, `{"execute":"guest-ping"}`, int32(timeoutSec), 0)
		return err
	})
}

// Hostname is the host name of the libvirtd host.
func (c *Conn) Hostname(ctx context.Context) (string, error) {
	return call(ctx, c, "host name", func() (string, error) { return c.rpc.ConnectGetHostname() })
}

// ParseUUID accepts a UUID with or without dashes.
func ParseUUID(s string) (golibvirt.UUID, error) {
	var u golibvirt.UUID
	hexText := strings.ReplaceAll(strings.TrimSpace(s), "-", "")
	if len(hexText) != 2*len(u) {
		return u, fmt.Errorf("%q is not a UUID", s)
	}
	if _, err := hex.Decode(u[:], []byte(hexText)); err != nil {
		return u, fmt.Errorf("%q is not a UUID", s)
	}
	return u, nil
}

func formatUUID(u golibvirt.UUID) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
