package libvirt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/files"
)

// Default ports of libvirtd's TCP and TLS listeners, and of sshd.
const (
	defaultTCPPort = "16509"
	defaultTLSPort = "16514"
	defaultSSHPort = "22"
)

// defaultRemoteSocket is the socket an ssh transport reaches on the remote
// host for a system URI when the URI names none: the monolithic libvirtd's,
// which virtproxyd serves on hosts with the modular daemons.
const defaultRemoteSocket = "/run/libvirt/libvirt-sock"

// ErrUnsupportedURI is returned for URIs this package cannot connect to
// (unknown transports, a password in the URI).
var ErrUnsupportedURI = errors.New("unsupported libvirt URI")

// endpoint is where a libvirt URI tells a client to connect, and which
// driver URI to open once connected.
type endpoint struct {
	network  string // "unix" or "tcp"
	address  string // socket path, or host:port
	tls      bool
	host     string // for TLS: the server name
	port     string
	pkiPath  string // TLS certificate folder (?pkipath=)
	noVerify bool   // TLS, ssh: do not verify the server (?no_verify=1)
	// ssh transports (ssh, libssh2, libssh): address is sshd's host:port.
	ssh          string // the transport's name; "" for the others
	user         string // user@ of the URI; "" for the client's user
	keyFile      string // ?keyfile=
	knownHosts   string // ?known_hosts=
	remoteSocket string // ?socket=, else defaultRemoteSocket
	socketGiven  bool   // the URI named the remote socket
	netcat       string // ?netcat=: the remote nc of the fallback (see sshexec.go)
	// name is the URI libvirtd is asked to open: the client URI without
	// transport, host and client-side options, e.g. qemu:///system.
	name string
}

// parseURI interprets a libvirt connection URI the way libvirt's remote
// driver does for the transports this package supports.
func parseURI(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URI
		}
		return endpoint{}, fmt.Errorf("%w \"%s\": %s", ErrUnsupportedURI, boundedText(raw), boundedText(err.Error()))
	}
	if u.Scheme == "" || u.Opaque != "" {
		return endpoint{}, fmt.Errorf("%w \"%s\": expected driver[+transport]://[host]/path", ErrUnsupportedURI, boundedText(raw))
	}
	driver, transport, _ := strings.Cut(u.Scheme, "+")
	if transport == "" {
		transport = "unix"
		if u.Host != "" {
			transport = "tls" // libvirt's rule: a host without transport means TLS
		}
	}
	query := u.Query()
	ep := endpoint{name: (&url.URL{Scheme: driver, Path: u.Path}).String()}
	switch {
	case query.Get("name") != "":
		ep.name = query.Get("name")
	case u.Path == "":
		ep.name = driver + ":///"
	}

	switch transport {
	case "unix":
		if u.Host != "" {
			return endpoint{}, fmt.Errorf("%w \"%s\": the unix transport takes no host", ErrUnsupportedURI, boundedText(raw))
		}
		ep.network = "unix"
		ep.address = query.Get("socket")
		if ep.address == "" {
			ep.address = defaultSocket(driver, u.Path)
		}
	case "tcp", "tls":
		if u.Hostname() == "" {
			return endpoint{}, fmt.Errorf("%w \"%s\": transport %s needs a host", ErrUnsupportedURI, boundedText(raw), transport)
		}
		ep.network = "tcp"
		ep.host, ep.port = u.Hostname(), u.Port()
		if ep.port == "" {
			ep.port = defaultTCPPort
			if transport == "tls" {
				ep.port = defaultTLSPort
			}
		}
		ep.address = net.JoinHostPort(ep.host, ep.port)
		if transport == "tls" {
			ep.tls = true
			ep.pkiPath = query.Get("pkipath")
			switch query.Get("no_verify") {
			case "", "0":
			case "1":
				ep.noVerify = true
			default:
				return endpoint{}, fmt.Errorf("%w \"%s\": no_verify must be 0 or 1", ErrUnsupportedURI, boundedText(raw))
			}
		}
	case "ssh", "libssh2", "libssh":
		if err := ep.parseSSH(u, transport); err != nil {
			return endpoint{}, fmt.Errorf("%w \"%s\": %s", ErrUnsupportedURI, boundedText(raw), err)
		}
	default:
		return endpoint{}, fmt.Errorf("%w \"%s\": transport \"%s\" is not supported (use unix, tcp, tls or ssh)", ErrUnsupportedURI, boundedText(raw), boundedText(transport))
	}
	return ep, nil
}

// parseSSH reads an ssh URI (driver+ssh://[user@]host[:port]/path) and the
// parameters libvirt gives its ssh transports: keyfile, known_hosts,
// no_verify, socket and netcat. The others (proxy, mode, command, sshauth,
// no_tty) choose how libvirt's own client runs ssh and mean nothing here.
func (ep *endpoint) parseSSH(u *url.URL, transport string) error {
	if u.Hostname() == "" {
		return fmt.Errorf("transport %s needs a host", transport)
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return errors.New("a password in the URI is not supported (URIs are logged)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port \"%s\" is not a TCP port", boundedText(p))
		}
	}
	query := u.Query()
	ep.network = "tcp"
	ep.ssh = transport
	ep.user = u.User.Username()
	ep.host, ep.port = u.Hostname(), u.Port()
	if ep.port == "" {
		ep.port = defaultSSHPort
	}
	ep.address = net.JoinHostPort(ep.host, ep.port)
	ep.keyFile = query.Get("keyfile")
	ep.knownHosts = query.Get("known_hosts")
	ep.netcat = query.Get("netcat")
	switch query.Get("no_verify") {
	case "", "0":
	case "1":
		ep.noVerify = true
	default:
		return errors.New("no_verify must be 0 or 1")
	}
	ep.remoteSocket, ep.socketGiven = query.Get("socket"), query.Get("socket") != ""
	if !ep.socketGiven {
		if u.Path != "/system" && u.Path != "" && u.Path != "/" {
			// A session daemon's socket is in the remote user's runtime
			// folder, which this side cannot know.
			return fmt.Errorf("path %s over ssh needs ?socket= (the remote socket)", boundedText(u.Path))
		}
		ep.remoteSocket = defaultRemoteSocket
	}
	if !strings.HasPrefix(ep.remoteSocket, "/") {
		return errors.New("socket must be an absolute path")
	}
	return nil
}

// defaultSocket is the socket libvirt's client library would use for a local
// URI: the per-driver socket of the modular daemons when it exists, else the
// monolithic libvirtd's.
func defaultSocket(driver, path string) string {
	dir := "/run/libvirt"
	if path == "/session" {
		dir = filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "libvirt")
		if os.Getenv("XDG_RUNTIME_DIR") == "" {
			home, _ := os.UserHomeDir()
			dir = filepath.Join(home, ".cache", "libvirt")
		}
	}
	if driver != "" {
		modular := filepath.Join(dir, "virt"+driver+"d-sock")
		if _, err := os.Stat(modular); err == nil {
			return modular
		}
	}
	return filepath.Join(dir, "libvirt-sock")
}

// DefaultURI is the URI a libvirt client uses when given none: the
// LIBVIRT_DEFAULT_URI environment variable, else uri_default in
// /etc/libvirt/libvirt.conf, else qemu:///system. This is what
// "virsh --quiet uri" prints for root on a KVM host.
func DefaultURI() string {
	if uri := os.Getenv("LIBVIRT_DEFAULT_URI"); uri != "" {
		return uri
	}
	if uri := uriDefaultFromConf("/etc/libvirt/libvirt.conf"); uri != "" {
		return uri
	}
	return "qemu:///system"
}

// Bounds of the read of libvirt.conf: a client configuration of a few
// lines, on the root file system.
const (
	maxClientConf  = 64 << 10
	clientConfWait = time.Second
)

// uriDefaultFromConf reads uri_default = "..." from a libvirt client
// configuration file; "" when absent, unreadable, not a regular file or
// larger than any real one.
func uriDefaultFromConf(path string) string {
	ctx, cancel := context.WithTimeout(context.Background(), clientConfWait)
	defer cancel()
	data, err := files.Read(ctx, path, maxClientConf)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(key) != "uri_default" {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			return value[1 : len(value)-1]
		}
	}
	return ""
}

// CheckURI reports whether Dial can connect to uri, without connecting.
func CheckURI(uri string) error {
	_, err := parseURI(uri)
	return err
}
