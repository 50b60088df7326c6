package libvirt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kvmha/kvmha/internal/files"
)

// The ssh transport is built in (golang.org/x/crypto/ssh): no ssh client is
// forked. It reaches libvirtd's socket on the remote host through a
// direct-streamlocal channel (what ssh -L local:/remote/socket uses), or,
// when sshd refuses to forward to sockets, through a remote command (see
// sshexec.go). Keys and known hosts files are read bounded in size and
// time; the whole dial, handshake and authentication included, ends with
// its context. ~/.ssh/config, ssh-agent and host certificates' principals
// beyond the host name are not used.

// ErrNoSSHIdentity: an ssh URI names no key, no password was given, and the
// user has no usable default key (a node-local condition).
var ErrNoSSHIdentity = errors.New("no ssh identity")

// Bounds of the files an ssh dial reads.
const (
	maxSSHKeyFile = 64 << 10
	sshFileWait   = 2 * time.Second
)

// sshPlan is everything an ssh dial needs, files read.
type sshPlan struct {
	user     string
	address  string // host:port
	socket   string // libvirtd's socket on the remote host
	name     string // the URI to open (for the remote helper)
	given    bool   // the URI named the socket
	netcat   string
	signers  []ssh.Signer
	keys     []string // the key files of signers, for messages
	password string
	known    *knownHosts
	policy   HostKeyPolicy
	warnings []string
}

// planSSH works out the user, keys, password and known hosts of an ssh
// endpoint under o (see SSHOptions for what takes precedence).
func (ep endpoint) planSSH(ctx context.Context, o SSHOptions) (*sshPlan, error) {
	p := &sshPlan{user: ep.user, address: ep.address, socket: ep.remoteSocket, name: ep.name,
		given: ep.socketGiven, netcat: ep.netcat, policy: o.HostKeys, password: o.Password}
	if p.user == "" {
		p.user = o.User
	}
	if p.user == "" {
		u, err := currentUser()
		if err != nil {
			return nil, err
		}
		p.user = u
	}
	if p.policy == HostKeyFromURI {
		p.policy = HostKeyStrict
		if ep.noVerify {
			p.policy = HostKeyAcceptAny
		}
	}

	keyFiles := o.KeyFiles
	if keyFiles == nil && ep.keyFile != "" {
		keyFiles = []string{ep.keyFile}
	}
	switch {
	case len(keyFiles) > 0:
		for _, path := range keyFiles {
			path = expandHome(path)
			s, warning, err := loadSSHKey(ctx, path, o.Passphrase)
			if err != nil {
				return nil, err
			}
			p.signers, p.keys = append(p.signers, s), append(p.keys, path)
			if warning != "" {
				p.warnings = append(p.warnings, warning)
			}
		}
	case p.password == "":
		// As ssh without -i: the user's usual keys that exist and need no
		// passphrase.
		for _, path := range defaultSSHKeyFiles() {
			if s, _, err := loadSSHKey(ctx, path, ""); err == nil {
				p.signers, p.keys = append(p.signers, s), append(p.keys, path)
			}
		}
		if len(p.signers) == 0 {
			return nil, fmt.Errorf("%w: no key file or password was given, and none of ~/.ssh/id_rsa, "+
				"id_ecdsa, id_ed25519 is a key usable without a passphrase", ErrNoSSHIdentity)
		}
	}

	userFiles := o.UserKnownHosts
	if userFiles == nil && ep.knownHosts != "" {
		userFiles = []string{ep.knownHosts}
	}
	if userFiles == nil {
		userFiles = defaultUserKnownHosts(ep.ssh)
	}
	globalFiles := o.GlobalKnownHosts
	if globalFiles == nil {
		globalFiles = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	}
	var paths []string
	for _, f := range append(append([]string(nil), userFiles...), globalFiles...) {
		paths = append(paths, expandHome(f))
	}
	kh, err := readKnownHosts(ctx, paths)
	if err != nil {
		return nil, err
	}
	p.known = kh
	return p, nil
}

// loadSSHKey reads and parses a private key; passphrase decrypts an
// encrypted one. warning is set for a key other users may read, which ssh
// itself refuses.
func loadSSHKey(ctx context.Context, path, passphrase string) (ssh.Signer, string, error) {
	// Each file access has its own bound: decrypting a key (bcrypt) takes
	// time of its own.
	rctx, cancel := context.WithTimeout(ctx, sshFileWait)
	defer cancel()
	data, err := files.Read(rctx, path, maxSSHKeyFile)
	if err != nil {
		return nil, "", fmt.Errorf("ssh key \"%s\": %w", boundedText(path), files.Cause(err))
	}
	signer, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing) && passphrase == "":
		return nil, "", fmt.Errorf("ssh key \"%s\" is encrypted, and no passphrase was given", boundedText(path))
	case errors.As(err, &missing):
		if signer, err = ssh.ParsePrivateKeyWithPassphrase(data, []byte(passphrase)); err != nil {
			return nil, "", fmt.Errorf("ssh key \"%s\" is encrypted, and the passphrase given does not open it", boundedText(path))
		}
	case err != nil:
		return nil, "", fmt.Errorf("ssh key \"%s\" is not a private key ssh can use: %s", boundedText(path), boundedText(err.Error()))
	}
	var warning string
	sctx, cancelStat := context.WithTimeout(ctx, sshFileWait)
	defer cancelStat()
	if fi, err := files.Stat(sctx, path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		warning = fmt.Sprintf("ssh key \"%s\" may be read by other users (mode %04o), which ssh itself refuses: chmod 600 it",
			boundedText(path), fi.Mode().Perm())
	}
	return signer, warning, nil
}

func currentUser() (string, error) {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username, nil
	}
	if os.Getuid() == 0 {
		return "root", nil
	}
	return "", fmt.Errorf("ssh: no user name given, and uid %d has none", os.Getuid())
}

func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

// expandHome replaces a leading ~/ by the home folder, as ssh does.
func expandHome(path string) string {
	if path == "~" || strings.HasPrefix(path, "~/") {
		return filepath.Join(homeDir(), path[1:])
	}
	return path
}

func defaultSSHKeyFiles() []string {
	dir := filepath.Join(homeDir(), ".ssh")
	return []string{filepath.Join(dir, "id_rsa"), filepath.Join(dir, "id_ecdsa"), filepath.Join(dir, "id_ed25519")}
}

// defaultUserKnownHosts: the ssh transport runs ssh, whose files are in
// ~/.ssh; libvirt's libssh and libssh2 transports keep their own.
func defaultUserKnownHosts(transport string) []string {
	if transport == "ssh" {
		dir := filepath.Join(homeDir(), ".ssh")
		return []string{filepath.Join(dir, "known_hosts"), filepath.Join(dir, "known_hosts2")}
	}
	config := os.Getenv("XDG_CONFIG_HOME")
	if config == "" {
		config = filepath.Join(homeDir(), ".config")
	}
	return []string{filepath.Join(config, "libvirt", "known_hosts")}
}

// authMethods: the keys, then the password (by password and by
// keyboard-interactive, which PAM-based sshd configurations use), which is
// not sent once a changed host key was accepted.
func (p *sshPlan) authMethods(changed *atomic.Bool) []ssh.AuthMethod {
	var methods []ssh.AuthMethod
	if len(p.signers) > 0 {
		methods = append(methods, ssh.PublicKeys(p.signers...))
	}
	if p.password != "" {
		refused := errors.New("the host key changed: the password is not sent")
		methods = append(methods,
			ssh.PasswordCallback(func() (string, error) {
				if changed.Load() {
					return "", refused
				}
				return p.password, nil
			}),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				if changed.Load() {
					return nil, refused
				}
				answers := make([]string, len(questions))
				for i := range questions {
					if i < len(echos) && !echos[i] {
						answers[i] = p.password
					}
				}
				return answers, nil
			}))
	}
	return methods
}

// credentials describes the authentication tried, for messages (never the
// password).
func (p *sshPlan) credentials() string {
	var parts []string
	if len(p.keys) > 0 {
		parts = append(parts, "key "+boundedText(strings.Join(p.keys, ", ")))
	}
	if p.password != "" {
		parts = append(parts, "password")
	}
	return strings.Join(parts, " and ")
}

// dialSSH logs in to the host and opens a stream to libvirtd's socket
// there, all within ctx: closing the TCP connection when ctx ends is what
// interrupts a handshake or a channel request the server does not answer.
func (d *boundDialer) dialSSH(ctx context.Context) (net.Conn, error) {
	plan, err := d.ep.planSSH(ctx, d.opts.SSH)
	if err != nil {
		return nil, err
	}
	var changed atomic.Bool
	cfg := &ssh.ClientConfig{
		User:              plan.user,
		Auth:              plan.authMethods(&changed),
		HostKeyCallback:   plan.known.callback(plan.policy, d.opts.logf, &changed),
		HostKeyAlgorithms: plan.known.hostKeyAlgorithms(plan.address),
	}
	var nd net.Dialer
	tcp, err := nd.DialContext(ctx, d.opts.network(), plan.address)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	sock, err := openSSH(tcp, plan, cfg)
	if !stop() {
		// ctx ended: the connection is closed, whatever the outcome.
		if sock != nil {
			sock.Close()
		}
		return nil, fmt.Errorf("ssh to %s not established in time: %w", boundedText(plan.address), ctx.Err())
	}
	if err != nil {
		tcp.Close()
		return nil, err
	}
	return sock, nil
}

// openSSH runs the handshake on tcp and opens the stream to libvirtd.
func openSSH(tcp net.Conn, plan *sshPlan, cfg *ssh.ClientConfig) (net.Conn, error) {
	c, chans, reqs, err := ssh.NewClientConn(tcp, plan.address, cfg)
	if err != nil {
		return nil, fmt.Errorf("ssh to %s as %s (%s): %w", boundedText(plan.address), boundedText(plan.user), plan.credentials(), err)
	}
	client := ssh.NewClient(c, chans, reqs)
	ch, err := client.Dial("unix", plan.socket)
	if err == nil {
		return &sshSocket{Conn: ch, client: client}, nil
	}
	var refused *ssh.OpenChannelError
	if !errors.As(err, &refused) {
		client.Close()
		return nil, fmt.Errorf("ssh to %s: opening %s: %w", boundedText(plan.address), boundedText(plan.socket), err)
	}
	// sshd does not forward to sockets (DisableForwarding, AllowStreamLocalForwarding
	// no), or this socket is not there (modular daemons without virtproxyd).
	s, xerr := execProxy(client, plan)
	if xerr != nil {
		client.Close()
		return nil, fmt.Errorf("ssh to %s: sshd did not forward to %s (%v), and the remote command failed: %w",
			boundedText(plan.address), boundedText(plan.socket), err, xerr)
	}
	return s, nil
}

// sshSocket is the stream to the remote socket; closing it ends the ssh
// connection too.
type sshSocket struct {
	net.Conn
	client *ssh.Client
}

func (s *sshSocket) Close() error {
	err := s.Conn.Close()
	s.client.Close()
	return err
}

// CheckFiles checks, without connecting, the files a Dial of uri with opts
// reads that a parameter chose: a TLS URI's pkipath (see CheckTLSFiles);
// an ssh URI's private keys, which must parse (decrypted with the
// passphrase given), and its known hosts files, each a regular file of
// bounded size that reads in time. It returns warnings about files that
// work but should be fixed (a private key other users may read). Other
// URIs: nil.
func CheckFiles(ctx context.Context, uri string, opts DialOptions) ([]string, error) {
	ep, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	if ep.ssh == "" {
		return nil, ep.checkTLSFiles(ctx)
	}
	plan, err := ep.planSSH(ctx, opts.SSH)
	if err != nil {
		return nil, err
	}
	return plan.warnings, nil
}

// IsSSH reports whether uri names an ssh transport (ssh, libssh2, libssh).
func IsSSH(uri string) bool {
	ep, err := parseURI(uri)
	return err == nil && ep.ssh != ""
}
