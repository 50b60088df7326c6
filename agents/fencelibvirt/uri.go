package fencelibvirt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// target is where libvirtd is and how to reach it, worked out once per run
// from the options (see the long description).
type target struct {
	uri      string
	opts     libvirt.DialOptions
	notes    []string // options given and not used, each with why
	warnings []string // files that work but should be fixed
}

func (t *target) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// identityKind is what identity_file names.
type identityKind int

const (
	noIdentity identityKind = iota
	tlsFolder               // a TLS client PKI folder
	tlsKey                  // the clientkey.pem of one
	sshKey                  // any other file: an ssh private key
)

func (k identityKind) tls() bool { return k == tlsFolder || k == tlsKey }

// resolve works out the target from the options. It reads identity_file
// and the files the dial will read, bounded, and runs password_script
// when ssh needs it; it never connects.
func resolve(ctx context.Context, v *fence.Values) (*target, error) {
	t := &target{}
	port := 0
	if v.IsSet(optIPPort) {
		if port = v.Int(optIPPort); port < 1 || port > 65535 {
			return nil, fmt.Errorf("ipport %q is not a TCP port (1-65535)", agentlog.Clip(v.Get(optIPPort)))
		}
	}
	identity := v.Get(optIdentityFile)
	kind, err := classifyIdentity(ctx, identity)
	if err != nil {
		return nil, err
	}
	user := v.Get(optLogin)

	uri := strings.TrimSpace(v.Get(optURI))
	ip := strings.TrimSpace(v.Get(optIPAddr))
	overSSH := false
	switch {
	case uri != "":
		if ip != "" {
			t.note("ip (uri names the host)")
		}
		if v.IsSet(optSSH) {
			t.note("ssh (uri names the transport)")
		}
		if v.IsSet(optIPPort) {
			t.note("ipport (uri names the port)")
		}
	case ip != "":
		if overSSH, err = wantSSH(v, kind); err != nil {
			return nil, err
		}
	}
	pki := ""
	if kind.tls() {
		pki = identity
		if kind == tlsKey {
			pki = filepath.Dir(identity)
		}
	}
	if uri, err = buildURI(uri, ip, port, overSSH, user, pki); err != nil {
		return nil, err
	}
	t.uri = uri
	if kind == sshKey && !libvirt.IsSSH(uri) {
		if ip != "" && v.IsSet(optSSH) {
			return nil, errors.New("identity_file must be a TLS client PKI folder or its clientkey.pem with ssh=0; an ssh key needs ssh=1")
		}
		return nil, fmt.Errorf("identity_file is an ssh private key, but %q is not an ssh URI", agentlog.Clip(uri))
	}

	if libvirt.IsSSH(uri) {
		if err := t.sshSettings(ctx, v, identity, kind); err != nil {
			return nil, err
		}
	} else {
		for _, name := range []string{optPassword, optPasswordScript, optSSHOptions} {
			if v.IsSet(name) {
				t.note("%s (libvirtd is not reached with ssh)", name)
			}
		}
		if user != "" {
			t.note("username (libvirtd identifies TLS and tcp clients otherwise)")
		}
	}

	network := ""
	switch {
	case v.Bool(optInet6Only):
		network = "tcp6"
	case v.Bool(optInet4Only):
		network = "tcp4"
	}
	if network != "" {
		switch u, _ := url.Parse(uri); {
		case u == nil || u.Host == "":
			t.note("inet4_only, inet6_only (libvirtd's socket is local)")
		case isTLS(u):
			t.note("inet4_only, inet6_only (not applied to TLS)")
		}
		t.opts.Network = network
	}
	if d := v.Duration(optLoginTimeout); d > 0 {
		t.opts.ConnectTimeout = d
	}
	for _, u := range notUsed {
		if v.IsSet(u.name) {
			t.note("%s (%s)", u.name, u.why)
		}
	}

	warnings, err := libvirt.CheckFiles(ctx, uri, t.opts)
	if err != nil {
		switch {
		case libvirt.IsSSH(uri):
			return nil, err
		case identity != "":
			return nil, fmt.Errorf("identity_file: %w", err)
		}
		return nil, fmt.Errorf("uri: %w", err)
	}
	t.warnings = append(t.warnings, warnings...)
	return t, nil
}

// notUsed are fence_virsh's options that drive its shell session, with
// why they mean nothing over libvirt's RPC.
var notUsed = []struct{ name, why string }{
	{optCommandPrompt, "there is no shell"},
	{optShellTimeout, "there is no shell"},
	{optUseSudo, "no virsh command is run; the ssh user needs access to libvirtd's socket"},
	{optSudoPath, "no virsh command is run"},
	{optSSHPath, "the ssh client is built in"},
	{optRetryOn, "libvirt's start either starts the domain or says why"},
	{optDisableTimeout, "the action's deadline comes from power_timeout"},
	{optPlugSeparator, "one domain per plug"},
	{optVerboseLevel, "use verbose"},
}

// wantSSH decides the transport to ip: ssh when asked, or, ssh not being
// set, when what logs in is ssh's (a password or an ssh key).
func wantSSH(v *fence.Values, kind identityKind) (bool, error) {
	if v.IsSet(optSSH) {
		overSSH := v.Bool(optSSH)
		if overSSH && kind.tls() {
			return false, errors.New("identity_file is a TLS client PKI file, but ssh=1: give an ssh private key, or set ssh=0")
		}
		return overSSH, nil
	}
	if kind.tls() {
		return false, nil
	}
	return kind == sshKey || v.Get(optPassword) != "" || v.Get(optPasswordScript) != "", nil
}

// sshSettings fills the ssh half of the dial options: the user, the keys,
// the password and what ssh_options says.
func (t *target) sshSettings(ctx context.Context, v *fence.Values, identity string, kind identityKind) error {
	if kind.tls() {
		return fmt.Errorf("identity_file is a TLS client PKI file, but %q is an ssh URI: give an ssh private key", agentlog.Clip(t.uri))
	}
	u, err := url.Parse(t.uri)
	if err != nil {
		return err
	}
	o := &t.opts.SSH
	user := v.Get(optLogin)
	o.User = user
	if uriUser := u.User.Username(); uriUser != "" && user != "" && uriUser != user {
		t.note("username (the URI's user %s logs in)", agentlog.Clip(uriUser))
	}

	so, err := parseSSHOptions(v.Get(optSSHOptions))
	if err != nil {
		return fmt.Errorf("ssh_options: %w", err)
	}
	if len(so.ignored) > 0 {
		t.note("from ssh_options: %s", strings.Join(so.ignored, ", "))
	}
	o.HostKeys, o.UserKnownHosts, o.GlobalKnownHosts = so.hostKeys, so.userKnownHosts, so.globalKnownHosts
	t.opts.Network = so.network

	var keys []string
	uriKey := u.Query().Get("keyfile")
	switch {
	case kind == sshKey && uriKey != "" && uriKey != identity:
		return errors.New("identity_file and the URI's keyfile disagree")
	case kind == sshKey:
		keys = append(keys, identity)
	case uriKey != "":
		keys = append(keys, uriKey)
	}
	keys = append(keys, so.keys...)
	if len(keys) > 0 {
		o.KeyFiles = keys
	}

	password := v.Get(optPassword)
	if script := v.Get(optPasswordScript); script != "" {
		if password != "" {
			t.note("password (password_script gives it)")
		}
		if password, err = runPasswordScript(ctx, script); err != nil {
			return fmt.Errorf("password_script: %w", err)
		}
	}
	if len(keys) > 0 {
		o.Passphrase = password // fence_virsh answers ssh's passphrase prompt with it
	} else {
		o.Password = password
	}
	return nil
}

// buildURI is the URI on plain values: uri when given, else one for ip
// (ssh or TLS), else the default; pki, when set, becomes a TLS URI's
// pkipath. port 0 means the transport's default.
func buildURI(uri, ip string, port int, overSSH bool, user, pki string) (string, error) {
	uri = strings.TrimSpace(uri)
	// Where the URI came from, for messages: the option, or libvirt's
	// default (LIBVIRT_DEFAULT_URI, libvirt.conf).
	source := "uri"
	if uri == "" {
		source = "ip"
	}
	if uri == "" && strings.TrimSpace(ip) != "" {
		host := strings.Trim(strings.TrimSpace(ip), "[]")
		if !validHost(host) {
			return "", fmt.Errorf("ip %q is not a host name or address", agentlog.Clip(ip))
		}
		if port != 0 {
			host = net.JoinHostPort(host, strconv.Itoa(port))
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		u := &url.URL{Scheme: "qemu+tls", Host: host, Path: "/system"}
		if overSSH {
			u.Scheme = "qemu+ssh"
			if user != "" {
				u.User = url.User(user)
			}
		}
		uri = u.String()
	}
	if uri == "" {
		uri, source = libvirt.DefaultURI(), "the default URI"
	}
	if pki != "" {
		u, err := url.Parse(uri)
		if err != nil || !isTLS(u) {
			return "", fmt.Errorf("identity_file is a TLS client key, but %q is not a TLS URI", agentlog.Clip(uri))
		}
		q := u.Query()
		if q.Get("pkipath") != "" && q.Get("pkipath") != pki {
			return "", errors.New("identity_file and the URI's pkipath disagree")
		}
		q.Set("pkipath", pki)
		u.RawQuery = q.Encode()
		uri = u.String()
	}
	if err := libvirt.CheckURI(uri); err != nil {
		return "", fmt.Errorf("%s: %w", source, err)
	}
	return uri, nil
}

// validHost reports whether s is an IP address (IPv6 without zone) or a
// host name: letters, digits, '-', '_' and '.', at most 253 bytes.
func validHost(s string) bool {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Zone() == ""
	}
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// isTLS applies libvirt's rule: transport tls, or a host and no transport.
func isTLS(u *url.URL) bool {
	_, transport, _ := strings.Cut(u.Scheme, "+")
	return transport == "tls" || transport == "" && u.Host != ""
}

// identityWait bounds what looking at identity_file may take: a local
// file answers at once, one on a hung mount never.
const identityWait = 2 * time.Second

// maxIdentityFile bounds the read of identity_file: a PEM key of a few KiB.
const maxIdentityFile = 64 << 10

// classifyIdentity tells what identity_file names: a folder is a TLS PKI
// folder, a file named clientkey.pem that is no OpenSSH key is the TLS
// client key in one, any other file an ssh private key (checked when the
// ssh settings are read). The file is read bounded in size and time, and
// anything but a folder or a regular file is refused at once.
func classifyIdentity(ctx context.Context, identity string) (identityKind, error) {
	if identity == "" {
		return noIdentity, nil
	}
	ctx, cancel := context.WithTimeout(ctx, identityWait)
	defer cancel()
	fi, err := files.Stat(ctx, identity)
	if err != nil {
		return noIdentity, fmt.Errorf("identity_file: %q: %v", agentlog.Clip(identity), files.Cause(err))
	}
	if fi.IsDir() {
		return tlsFolder, nil
	}
	head, err := files.Read(ctx, identity, maxIdentityFile)
	if err != nil {
		return noIdentity, fmt.Errorf("identity_file: %q: %v", agentlog.Clip(identity), files.Cause(err))
	}
	if filepath.Base(identity) == "clientkey.pem" && !bytes.Contains(head, []byte("OPENSSH PRIVATE KEY")) {
		return tlsKey, nil
	}
	return sshKey, nil
}
