package virtualdomain

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/libvirt"
	"github.com/kvmha/kvmha/internal/ocf"
)

// Ports libvirt picks migration ports from; heartbeat:VirtualDomain
// chooses migrateport at random among the first 64 of them.
const (
	migratePortBase  = 49152
	migratePortRange = 64
)

// migrationUserPattern is what heartbeat:VirtualDomain accepts as a user
// name to put into the target URI.
var migrationUserPattern = regexp.MustCompile(`^[a-z][-a-z0-9]*$`)

// migrationPlan is how one live migration is done.
type migrationPlan struct {
	targetNode string // the cluster node name
	destURI    string // target libvirtd as the source libvirtd reaches it
	migrateURI string // data URI; "" lets libvirt choose
	flags      libvirt.MigrateFlags
}

// planMigration computes the target and data URIs from the parameters, the
// way heartbeat:VirtualDomain does.
func planMigration(s settings, target string, randomPort func() int) (migrationPlan, error) {
	p := migrationPlan{targetNode: target}
	opts, err := parseMigrateOptions(s.migrateOptions)
	if err != nil {
		return p, err
	}
	p.flags = opts.flags
	node := withNetworkSuffix(target, s.migrationNetSuffix)

	if s.remoteURI != "" {
		p.destURI = strings.ReplaceAll(s.remoteURI, "%n", target)
	} else {
		host := node
		if migrationUserPattern.MatchString(s.migrationUser) {
			host = s.migrationUser + "@" + node
		}
		p.destURI, err = remoteHypervisorURI(s.uri, s.migrationTransport, host)
		if err != nil {
			return p, ocf.ParamErrorf(pHypervisor, "%v", err)
		}
	}

	switch {
	case s.migrateURI != "":
		p.migrateURI = strings.ReplaceAll(s.migrateURI, "%n", node)
	case opts.migrateURI != "":
		p.migrateURI = strings.ReplaceAll(opts.migrateURI, "%n", node)
	case s.migrationNetSuffix != "":
		port := s.migratePort
		if port == 0 {
			port = randomPort()
		}
		switch driver := hypervisorDriver(s.uri); driver {
		case "qemu":
			p.migrateURI = "tcp:" + node + ":" + strconv.Itoa(port)
		case "xen":
			p.migrateURI = node
		default:
			return p, ocf.ParamErrorf(pMigrationNetSuffix, "migration through a dedicated network is not supported for hypervisor %s",
				agentlog.Clip(driver))
		}
	}
	return p, nil
}

func defaultRandomPort() int { return migratePortBase + rand.IntN(migratePortRange) }

// withNetworkSuffix inserts suffix after the first label of a host name:
// node2 -> node2-mig, node2.example.com -> node2-mig.example.com.
func withNetworkSuffix(node, suffix string) string {
	if suffix == "" {
		return node
	}
	first, rest, found := strings.Cut(node, ".")
	if found {
		return first + suffix + "." + rest
	}
	return node + suffix
}

// hypervisorDriver is the URI's driver: qemu for qemu+tcp://….
func hypervisorDriver(uri string) string {
	driver, _, _ := strings.Cut(uri, ":")
	driver, _, _ = strings.Cut(driver, "+")
	return driver
}

// remoteHypervisorURI turns the local hypervisor URI into the target's:
// same driver, path, port and options, the transport inserted
// (driver+transport://host/path). A local socket path makes no sense on
// another host, so ?socket= is dropped from a local URI.
func remoteHypervisorURI(local, transport, host string) (string, error) {
	u, err := url.Parse(local)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("URI \"%s\" cannot be turned into the target's", agentlog.Clip(local))
	}
	if transport != "" {
		u.Scheme += "+" + transport
	}
	if u.Host == "" {
		q := u.Query()
		q.Del("socket")
		u.RawQuery = q.Encode()
	}
	port := u.Port()
	user, hostOnly, hasUser := strings.Cut(host, "@")
	if !hasUser {
		hostOnly, user = host, ""
	}
	u.User = nil
	if user != "" {
		u.User = url.User(user)
	}
	u.Host = hostOnly
	if port != "" {
		u.Host += ":" + port
	}
	return u.String(), nil
}

// migrateOptions is what migrate_options asks for.
type migrateOptions struct {
	flags      libvirt.MigrateFlags
	migrateURI string
}

// migrateOptionFlags maps the virsh migrate options the agent honours.
var migrateOptionFlags = map[string]libvirt.MigrateFlags{
	"--live": 0, "--p2p": 0, "--verbose": 0, // always live and peer to peer
	"--tunnelled":      libvirt.MigrateTunnelled,
	"--persistent":     libvirt.MigratePersistDest,
	"--undefinesource": libvirt.MigrateUndefineSource,
	"--unsafe":         libvirt.MigrateUnsafe,
	"--compressed":     libvirt.MigrateCompressed,
	"--auto-converge":  libvirt.MigrateAutoConverge,
	"--postcopy":       libvirt.MigratePostcopy,
	"--abort-on-error": libvirt.MigrateAbortOnError,
	"--tls":            libvirt.MigrateTLS,
	"--parallel":       libvirt.MigrateParallel,
}

// parseMigrateOptions reads migrate_options; an option the agent cannot
// honour is an error that names it.
func parseMigrateOptions(s string) (migrateOptions, error) {
	var o migrateOptions
	var unknown []string
	for _, f := range strings.Fields(s) {
		if v, ok := strings.CutPrefix(f, "--migrateuri="); ok {
			o.migrateURI = v
			continue
		}
		flag, ok := migrateOptionFlags[f]
		if !ok {
			unknown = append(unknown, f)
			continue
		}
		o.flags |= flag
	}
	if len(unknown) > 0 {
		return o, ocf.ParamErrorf(pMigrateOptions, "%s not supported by ocf:kvmha:VirtualDomain", agentlog.Clip(strings.Join(unknown, " ")))
	}
	return o, nil
}
