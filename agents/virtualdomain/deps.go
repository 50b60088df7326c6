package virtualdomain

import (
	"context"
	"net"
	"time"

	"github.com/kvmha/kvmha/agents/virtualdomain/cephapi"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/guestdisks"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// hypervisor is the part of a libvirt connection the agent uses;
// *libvirt.Conn implements it, and the unit tests use a fake.
type hypervisor interface {
	DomainByName(ctx context.Context, name string) (libvirt.Domain, error)
	DomainInfo(ctx context.Context, d libvirt.Domain) (libvirt.Info, error)
	DomainXML(ctx context.Context, d libvirt.Domain, inactive, secure bool) (string, error)
	IsPersistent(ctx context.Context, d libvirt.Domain) (bool, error)
	CreateTransient(ctx context.Context, xml string) (libvirt.Domain, error)
	Undefine(ctx context.Context, d libvirt.Domain) error
	Shutdown(ctx context.Context, d libvirt.Domain, mode libvirt.ShutdownMode) error
	Destroy(ctx context.Context, d libvirt.Domain) error
	Save(ctx context.Context, d libvirt.Domain, path string) error
	Restore(ctx context.Context, path string) error
	AgentPing(ctx context.Context, d libvirt.Domain, timeoutSec int) error

	Migrate(ctx context.Context, d libvirt.Domain, spec libvirt.MigrateSpec) error
	JobProgress(ctx context.Context, d libvirt.Domain) (libvirt.JobProgress, error)
	AbortJob(ctx context.Context, d libvirt.Domain) error
	SetMigrationMaxDowntime(ctx context.Context, d libvirt.Domain, ms uint64) error

	SecretByUUID(ctx context.Context, uuid string) (libvirt.Secret, error)
	CephSecretByUsage(ctx context.Context, usage string) (libvirt.Secret, error)
	DefineSecret(ctx context.Context, xml string) (libvirt.Secret, error)
	SetSecretValue(ctx context.Context, s libvirt.Secret, value []byte) error

	StoragePoolXML(ctx context.Context, name string) (string, error)
	EnsureStoragePoolActive(ctx context.Context, name string) error
	EnsureNetworkActive(ctx context.Context, name string) error

	Close() error
}

// utilizationAttrs are a resource's utilization attributes in the CIB.
type utilizationAttrs interface {
	Get(ctx context.Context, resource, name string) (string, error)
	Set(ctx context.Context, resource, name, value string) error
	Delete(ctx context.Context, resource, name string) error
}

// qemuProcesses finds and signals this node's qemu processes without libvirtd.
type qemuProcesses interface {
	// Find returns the pids of live qemu processes running the domain.
	Find(name, uuid string) ([]int, error)
	// Terminate sends SIGTERM, or SIGKILL when kill is set.
	Terminate(pid int, kill bool) error
}

// deps is everything the agent takes from the outside world.
type deps struct {
	dialHypervisor func(ctx context.Context, uri string) (hypervisor, error)
	openCeph       cephapi.OpenFunc
	qemu           qemuProcesses
	// localAddrs lists this node's IP addresses (a holder there is this node).
	localAddrs func() ([]net.IP, error)
	// run executes a program (monitor scripts, csync2) with a clean
	// environment and returns its combined output and exit status.
	run func(ctx context.Context, argv []string) (output string, exitCode int, err error)
	// utilization reads and writes the resource's utilization attributes.
	utilization utilizationAttrs
	// imageUsers lists what on this node uses an RBD image (see imageusers.go).
	imageUsers func(img cephapi.Image) ([]string, error)
	// poll is the interval of state polling loops.
	poll time.Duration
	// defaultCephConf is used for the RBD checks when ceph_conf is unset
	// and the file exists.
	defaultCephConf string
	// defaultURI is the hypervisor URI when the parameter is unset.
	defaultURI func() string

	// The start guard (heartbeat parameter, heartbeatguard.go):
	// heartbeatLocal opens file:// and block:// backends (rados:// ones are
	// read through openCeph's session);
	heartbeatLocal heartbeat.Opener
	// heartbeatState is the local heartbeat daemon's state, nil when none;
	heartbeatState func() *heartbeat.State
	// heartbeatMargin is added to a silent host's timeout and watchdog;
	heartbeatMargin time.Duration
	// disks resolves the domain's disks on this node (its Pool is set per call).
	disks guestdisks.Resolver
}
