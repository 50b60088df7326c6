package libvirt

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kvmha/kvmha/internal/files/filestest"
)

// sshServer is an in-process sshd on 127.0.0.1: it authenticates by key
// and by password (or keyboard-interactive), and forwards the streams a
// client opens to libvirtd's socket, the direct-streamlocal channel or a
// remote command, to a fake libvirtd.
type sshServer struct {
	t        *testing.T
	addr     string // 127.0.0.1:port
	hostKeys []ssh.Signer
	daemon   *fakeDaemon

	authorized     ssh.PublicKey // accepted user key
	password       string        // accepted password ("": none)
	kbdInteractive bool          // password by keyboard-interactive only
	refuseForward  bool          // reject direct-streamlocal (DisableForwarding)

	mu       sync.Mutex
	users    []string
	sockets  []string // remote socket paths asked for
	commands []string // remote commands run
}

func newSSHServer(t *testing.T, configure func(*sshServer)) *sshServer {
	t.Helper()
	_, hostKey, _ := ed25519.GenerateKey(rand.Reader)
	hs, err := ssh.NewSignerFromKey(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	s := &sshServer{t: t, hostKeys: []ssh.Signer{hs}, daemon: newFakeDaemon(t, nil)}
	if configure != nil {
		configure(s)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.record(&s.users, c.User())
			if s.authorized != nil && sameKey(key, s.authorized) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	checkPassword := func(c ssh.ConnMetadata, pw string) error {
		s.record(&s.users, c.User())
		if s.password != "" && pw == s.password {
			return nil
		}
		return errors.New("wrong password")
	}
	if s.kbdInteractive {
		cfg.KeyboardInteractiveCallback = func(c ssh.ConnMetadata, client ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			answers, err := client("", "", []string{"Password: "}, []bool{false})
			if err != nil || len(answers) != 1 {
				return nil, errors.New("no answer")
			}
			return nil, checkPassword(c, answers[0])
		}
	} else {
		cfg.PasswordCallback = func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			return nil, checkPassword(c, string(pw))
		}
	}
	for _, k := range s.hostKeys {
		cfg.AddHostKey(k)
	}
	ln := listenAndServe(t, "tcp", "127.0.0.1:0", func(c net.Conn) { s.serve(c, cfg) })
	s.addr = ln.Addr().String()
	return s
}

func (s *sshServer) record(list *[]string, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*list = append(*list, v)
}

func (s *sshServer) recorded(list *[]string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), *list...)
}

func (s *sshServer) serve(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		switch nc.ChannelType() {
		case "direct-streamlocal@openssh.com":
			var msg struct {
				SocketPath string
				Reserved0  string
				Reserved1  uint32
			}
			if err := ssh.Unmarshal(nc.ExtraData(), &msg); err != nil {
				nc.Reject(ssh.ConnectionFailed, "bad payload")
				continue
			}
			s.record(&s.sockets, msg.SocketPath)
			if s.refuseForward {
				nc.Reject(ssh.Prohibited, "administratively prohibited")
				continue
			}
			if msg.SocketPath != defaultRemoteSocket && msg.SocketPath != s.daemon.socket {
				nc.Reject(ssh.ConnectionFailed, "no such socket")
				continue
			}
			ch, creqs, err := nc.Accept()
			if err != nil {
				continue
			}
			go ssh.DiscardRequests(creqs)
			go s.pipe(ch)
		case "session":
			ch, creqs, err := nc.Accept()
			if err != nil {
				continue
			}
			go s.session(ch, creqs)
		default:
			nc.Reject(ssh.UnknownChannelType, "no")
		}
	}
}

// pipe joins a channel to the fake libvirtd.
func (s *sshServer) pipe(ch ssh.Channel) {
	defer ch.Close()
	d, err := net.Dial("unix", s.daemon.socket)
	if err != nil {
		return
	}
	defer d.Close()
	go io.Copy(d, ch)
	io.Copy(ch, d)
}

// session runs "exec" requests as if the remote command were
// virt-ssh-helper or nc -U: the channel goes to the fake libvirtd.
func (s *sshServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	for req := range reqs {
		if req.Type != "exec" {
			req.Reply(false, nil)
			continue
		}
		var msg struct{ Command string }
		ssh.Unmarshal(req.Payload, &msg)
		s.record(&s.commands, msg.Command)
		req.Reply(true, nil)
		if strings.Contains(msg.Command, "/broken/") {
			fmt.Fprintf(ch.Stderr(), "sh: 1: exec: /broken/nc: not found\nmore\n")
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{127}))
			ch.Close()
			continue
		}
		go func() {
			s.pipe(ch)
		}()
	}
}

func (s *sshServer) port() string {
	_, p, _ := net.SplitHostPort(s.addr)
	return p
}

// knownHostsLine is an OpenSSH known_hosts line for the server's key.
func (s *sshServer) knownHostsLine(key ssh.PublicKey) string {
	return knownHostName(s.addr) + " " + string(ssh.MarshalAuthorizedKey(key))
}

// userKey makes an ed25519 key pair, its private half in an OpenSSH key
// file of the given mode, encrypted when passphrase is set.
func userKey(t *testing.T, mode os.FileMode, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	var block *pem.Block
	var err error
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	} else {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, mode)
	sp, _ := ssh.NewPublicKey(pub)
	return path, sp
}

func writeKnownHosts(t *testing.T, lines ...string) string {
	t.Helper()
	return filestest.WriteFile(t, filepath.Join(t.TempDir(), "known_hosts"), strings.Join(lines, ""))
}

// roundTrip dials uri and asks the fake libvirtd for a domain's state.
func roundTrip(t *testing.T, uri string, opts DialOptions) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := DialWith(ctx, uri, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.LookupDomain(ctx, "vm1")
	return err
}

// The fake daemon answers LookupDomain with its default error: reaching it
// is what the tests check.
func reachedDaemon(err error) bool {
	return err != nil && strings.Contains(err.Error(), "fake error")
}

func TestSSHByKeyFile(t *testing.T) {
	key, pub := userKey(t, 0o600, "")
	srv := newSSHServer(t, func(s *sshServer) { s.authorized = pub })
	kh := writeKnownHosts(t, srv.knownHostsLine(srv.hostKeys[0].PublicKey()))
	uri := fmt.Sprintf("qemu+ssh://fence@127.0.0.1:%s/system?keyfile=%s&known_hosts=%s", srv.port(), key, kh)
	if err := roundTrip(t, uri, DialOptions{}); !reachedDaemon(err) {
		t.Fatalf("by key: %v", err)
	}
	if u := srv.recorded(&srv.users); len(u) == 0 || u[0] != "fence" {
		t.Errorf("logged in as %v", u)
	}
	if s := srv.recorded(&srv.sockets); len(s) != 1 || s[0] != defaultRemoteSocket {
		t.Errorf("remote sockets asked for: %v", s)
	}
	// The options' key and user replace the URI's.
	other, otherPub := userKey(t, 0o600, "")
	srv.authorized = otherPub
	uri = fmt.Sprintf("qemu+ssh://127.0.0.1:%s/system?known_hosts=%s&socket=%s", srv.port(), kh, srv.daemon.socket)
	if err := roundTrip(t, uri, DialOptions{SSH: SSHOptions{User: "admin", KeyFiles: []string{other}}}); !reachedDaemon(err) {
		t.Fatalf("by the options' key: %v", err)
	}
	if u := srv.recorded(&srv.users); u[len(u)-1] != "admin" {
		t.Errorf("logged in as %v", u)
	}
	if err := roundTrip(t, uri, DialOptions{SSH: SSHOptions{User: "admin", KeyFiles: []string{key}}}); err == nil ||
		!errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("a key the server does not know: %v", err)
	}
}

func TestSSHByEncryptedKey(t *testing.T) {
	key, pub := userKey(t, 0o600, "open sesame")
	srv := newSSHServer(t, func(s *sshServer) { s.authorized = pub })
	kh := writeKnownHosts(t, srv.knownHostsLine(srv.hostKeys[0].PublicKey()))
	uri := fmt.Sprintf("qemu+ssh://root@127.0.0.1:%s/system?known_hosts=%s", srv.port(), kh)
	opts := DialOptions{SSH: SSHOptions{KeyFiles: []string{key}, Passphrase: "open sesame"}}
	if err := roundTrip(t, uri, opts); !reachedDaemon(err) {
		t.Fatalf("by an encrypted key: %v", err)
	}
	opts.SSH.Passphrase = ""
	if err := roundTrip(t, uri, opts); err == nil || !strings.Contains(err.Error(), "encrypted, and no passphrase") {
		t.Fatalf("no passphrase: %v", err)
	}
	opts.SSH.Passphrase = "wrong"
	if err := roundTrip(t, uri, opts); err == nil || !strings.Contains(err.Error(), "does not open it") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("a wrong passphrase: %v", err)
	}
}

func TestSSHByPassword(t *testing.T) {
	for _, kbd := range []bool{false, true} {
		srv := newSSHServer(t, func(s *sshServer) { s.password, s.kbdInteractive = "s3cret", kbd })
		kh := writeKnownHosts(t, srv.knownHostsLine(srv.hostKeys[0].PublicKey()))
		uri := fmt.Sprintf("qemu+ssh://root@127.0.0.1:%s/system", srv.port())
		opts := DialOptions{SSH: SSHOptions{Password: "s3cret", UserKnownHosts: []string{kh}, GlobalKnownHosts: []string{}}}
		if err := roundTrip(t, uri, opts); !reachedDaemon(err) {
			t.Fatalf("keyboard-interactive %v: by password: %v", kbd, err)
		}
		opts.SSH.Password = "guess-me"
		err := roundTrip(t, uri, opts)
		if err == nil || !strings.Contains(err.Error(), "unable to authenticate") || strings.Contains(err.Error(), "guess-me") {
			t.Fatalf("keyboard-interactive %v: a wrong password: %v", kbd, err)
		}
	}
}

func TestSSHHostKeyPolicies(t *testing.T) {
	key, pub := userKey(t, 0o600, "")
	srv := newSSHServer(t, func(s *sshServer) { s.authorized, s.password = pub, "pw" })
	_, impostor, _ := ed25519.GenerateKey(rand.Reader)
	impostorKey, _ := ssh.NewSignerFromKey(impostor)
	hostLine := srv.knownHostsLine(srv.hostKeys[0].PublicKey())
	unknown := writeKnownHosts(t, "otherhost "+string(ssh.MarshalAuthorizedKey(srv.hostKeys[0].PublicKey())))
	changed := writeKnownHosts(t, srv.knownHostsLine(impostorKey.PublicKey()))
	revoked := writeKnownHosts(t, hostLine, "@revoked * "+string(ssh.MarshalAuthorizedKey(srv.hostKeys[0].PublicKey())))
	hashed := writeKnownHosts(t, knownhosts.HashHostname(knownHostName(srv.addr))+" "+string(ssh.MarshalAuthorizedKey(srv.hostKeys[0].PublicKey())))
	pattern := writeKnownHosts(t, "[127.0.0.?]:"+srv.port()+",!otherhost "+string(ssh.MarshalAuthorizedKey(srv.hostKeys[0].PublicKey())))
	negated := writeKnownHosts(t, "[127.0.0.*]:*,![127.0.0.1]:"+srv.port()+" "+string(ssh.MarshalAuthorizedKey(srv.hostKeys[0].PublicKey())))

	base := "qemu+ssh://root@127.0.0.1:" + srv.port() + "/system?keyfile=" + key
	for _, c := range []struct {
		name     string
		uri      string
		opts     SSHOptions
		want     string // "" reaches the daemon
		wantLogs string
	}{
		{"known", base + "&known_hosts=" + writeKnownHosts(t, hostLine), SSHOptions{}, "", ""},
		{"hashed", base + "&known_hosts=" + hashed, SSHOptions{}, "", ""},
		{"pattern", base + "&known_hosts=" + pattern, SSHOptions{}, "", ""},
		{"negated", base + "&known_hosts=" + negated, SSHOptions{}, "is not in known hosts", ""},
		{"unknown", base + "&known_hosts=" + unknown, SSHOptions{}, "is not in known hosts", ""},
		{"no file", base + "&known_hosts=/dev/null", SSHOptions{GlobalKnownHosts: []string{}}, "is not in any known hosts file (none was found)", ""},
		{"unknown, accept-new", base + "&known_hosts=" + unknown, SSHOptions{HostKeys: HostKeyAcceptNew}, "", "is accepted by the host key policy"},
		{"unknown, no_verify", base + "&no_verify=1&known_hosts=" + unknown, SSHOptions{}, "", "is accepted"},
		{"changed", base + "&known_hosts=" + changed, SSHOptions{}, "has CHANGED", ""},
		{"changed, accept-new", base + "&known_hosts=" + changed, SSHOptions{HostKeys: HostKeyAcceptNew}, "has CHANGED", ""},
		{"changed, no", base + "&known_hosts=" + changed, SSHOptions{HostKeys: HostKeyAcceptAny}, "", "WARNING: the host key of"},
		{"changed, no, password", "qemu+ssh://root@127.0.0.1:" + srv.port() + "/system?no_verify=1&known_hosts=" + changed,
			SSHOptions{Password: "pw"}, "the password is not sent", "WARNING"},
		{"revoked", base + "&no_verify=1&known_hosts=" + revoked, SSHOptions{}, "@revoked", ""},
		{"options' files replace the URI's", base + "&known_hosts=" + unknown, SSHOptions{UserKnownHosts: []string{writeKnownHosts(t, hostLine)}}, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs strings.Builder
			opts := DialOptions{SSH: c.opts, Logf: func(f string, a ...any) { fmt.Fprintf(&logs, f+"\n", a...) }}
			err := roundTrip(t, c.uri, opts)
			if c.want == "" && !reachedDaemon(err) || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if !strings.Contains(logs.String(), c.wantLogs) || c.wantLogs == "" && logs.Len() > 0 {
				t.Fatalf("logged %q, want %q", logs.String(), c.wantLogs)
			}
		})
	}
}

// TestSSHAsksForTheKnownKeyType: a server with an ed25519 and an RSA key,
// known by its RSA key only, must be asked for that one.
func TestSSHAsksForTheKnownKeyType(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner, _ := ssh.NewSignerFromKey(rsaKey)
	key, pub := userKey(t, 0o600, "")
	srv := newSSHServer(t, func(s *sshServer) { s.authorized, s.hostKeys = pub, append(s.hostKeys, rsaSigner) })
	kh := writeKnownHosts(t, srv.knownHostsLine(rsaSigner.PublicKey()))
	uri := fmt.Sprintf("qemu+ssh://root@127.0.0.1:%s/system?keyfile=%s&known_hosts=%s", srv.port(), key, kh)
	if err := roundTrip(t, uri, DialOptions{}); !reachedDaemon(err) {
		t.Fatal(err)
	}
}

func TestSSHHostCertificate(t *testing.T) {
	_, caKey, _ := ed25519.GenerateKey(rand.Reader)
	ca, _ := ssh.NewSignerFromKey(caKey)
	key, pub := userKey(t, 0o600, "")
	srv := newSSHServer(t, func(s *sshServer) {
		s.authorized = pub
		cert := &ssh.Certificate{Key: s.hostKeys[0].PublicKey(), CertType: ssh.HostCert, ValidPrincipals: []string{"127.0.0.1"},
			ValidBefore: ssh.CertTimeInfinity}
		if err := cert.SignCert(rand.Reader, ca); err != nil {
			t.Fatal(err)
		}
		cs, err := ssh.NewCertSigner(cert, s.hostKeys[0])
		if err != nil {
			t.Fatal(err)
		}
		s.hostKeys = []ssh.Signer{cs}
	})
	kh := writeKnownHosts(t, "@cert-authority [127.0.0.1]:* "+string(ssh.MarshalAuthorizedKey(ca.PublicKey())))
	uri := fmt.Sprintf("qemu+ssh://root@127.0.0.1:%s/system?keyfile=%s&known_hosts=%s", srv.port(), key, kh)
	if err := roundTrip(t, uri, DialOptions{}); !reachedDaemon(err) {
		t.Fatal(err)
	}
}

// TestSSHRemoteCommandWhenForwardingIsRefused: an sshd that does not
// forward to sockets gets virt-ssh-helper (or nc -U) as a command.
func TestSSHRemoteCommandWhenForwardingIsRefused(t *testing.T) {
	key, pub := userKey(t, 0o600, "")
	srv := newSSHServer(t, func(s *sshServer) { s.authorized, s.refuseForward = pub, true })
	kh := writeKnownHosts(t, srv.knownHostsLine(srv.hostKeys[0].PublicKey()))
	uri := fmt.Sprintf("qemu+ssh://root@127.0.0.1:%s/system?keyfile=%s&known_hosts=%s", srv.port(), key, kh)
	if err := roundTrip(t, uri, DialOptions{}); !reachedDaemon(err) {
		t.Fatal(err)
	}
	cmds := srv.recorded(&srv.commands)
	if len(cmds) != 1 || !strings.Contains(cmds[0], "virt-ssh-helper 'qemu:///system'") || !strings.Contains(cmds[0], "nc -U '/run/libvirt/libvirt-sock'") {
		t.Fatalf("remote commands: %q", cmds)
	}
	if err := roundTrip(t, uri+"&socket=/var/run/it's-sock&netcat=/usr/bin/ncat", DialOptions{}); !reachedDaemon(err) {
		t.Fatal(err)
	}
	if cmds := srv.recorded(&srv.commands); cmds[1] != `'/usr/bin/ncat' -U '/var/run/it'\''s-sock'` {
		t.Fatalf("remote command with socket and netcat: %q", cmds[1])
	}
	// A remote command that fails: its first line of stderr is in the error
	// (when it arrived before go-libvirt gave up).
	err := roundTrip(t, uri+"&netcat=/broken/nc", DialOptions{})
	if !errors.Is(err, ErrUnreachable) || reachedDaemon(err) {
		t.Fatalf("a failing remote command: %v", err)
	}
	if strings.Contains(err.Error(), "remote command said") && !strings.Contains(err.Error(), "said: sh: 1: exec: /broken/nc: not found)") {
		t.Fatalf("a failing remote command: %v", err)
	}
}

// A server that accepts the connection and never speaks: the dial ends
// with its context, and ConnectTimeout bounds it sooner.
func TestSSHHandshakeEndsWithTheContext(t *testing.T) {
	ln := silentListener(t, "tcp", "127.0.0.1:0")
	key, _ := userKey(t, 0o600, "")
	uri := "qemu+ssh://root@" + ln.Addr().String() + "/system?no_verify=1&keyfile=" + key
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Dial(ctx, uri); !IsTimeout(err) {
		t.Fatalf("want a timeout, got %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Dial took %s", took)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start = time.Now()
	_, err := DialWith(ctx, uri, DialOptions{ConnectTimeout: 200 * time.Millisecond})
	if err == nil || !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "not established within 200ms") {
		t.Fatalf("ConnectTimeout: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("DialWith with ConnectTimeout took %s", took)
	}
}

func TestCheckFilesSSH(t *testing.T) {
	key, _ := userKey(t, 0o600, "")
	open, _ := userKey(t, 0o644, "")
	encrypted, _ := userKey(t, 0o600, "pp")
	pub := filestest.WriteFile(t, filepath.Join(t.TempDir(), "id.pub"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x\n")
	kh := writeKnownHosts(t, "h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n", "garbage line\n")
	ctx := context.Background()
	check := func(uri string, o SSHOptions) ([]string, error) {
		return CheckFiles(ctx, uri, DialOptions{SSH: o})
	}
	if w, err := check("qemu+ssh://h/system?keyfile="+key+"&known_hosts="+kh, SSHOptions{}); err != nil || len(w) != 0 {
		t.Fatalf("a good key and known hosts file (with a line ssh skips): %v %v", w, err)
	}
	if w, err := check("qemu+ssh://h/system?keyfile="+open, SSHOptions{}); err != nil || len(w) != 1 || !strings.Contains(w[0], "mode 0644") {
		t.Fatalf("a key others may read: %v %v", w, err)
	}
	if _, err := check("qemu+ssh://h/system", SSHOptions{KeyFiles: []string{encrypted}}); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("an encrypted key without passphrase: %v", err)
	}
	if _, err := check("qemu+ssh://h/system", SSHOptions{KeyFiles: []string{encrypted}, Passphrase: "pp"}); err != nil {
		t.Fatalf("an encrypted key with its passphrase: %v", err)
	}
	if _, err := check("qemu+ssh://h/system?keyfile="+pub, SSHOptions{}); err == nil || !strings.Contains(err.Error(), "not a private key") {
		t.Fatalf("a public key: %v", err)
	}
	if _, err := check("qemu+ssh://h/system?keyfile=/nonexistent/key", SSHOptions{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("a missing key: %v", err)
	}
	hostile := filestest.NewHostile(t)
	hostile.Refused(t, 3*time.Second, func(path string) error {
		if _, err := check("qemu+ssh://h/system?keyfile="+path, SSHOptions{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			return fmt.Errorf("as a key: %v", err)
		}
		if _, err := check("qemu+ssh://h/system?keyfile="+key, SSHOptions{UserKnownHosts: []string{path}}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			return fmt.Errorf("as known hosts: %v", err)
		}
		return nil
	})
	// Without a key file or password, the user's keys: none in an empty home.
	t.Setenv("HOME", t.TempDir())
	if _, err := check("qemu+ssh://h/system", SSHOptions{}); !errors.Is(err, ErrNoSSHIdentity) {
		t.Fatalf("no identity: %v", err)
	}
	if _, err := check("qemu+ssh://h/system", SSHOptions{Password: "x"}); err != nil {
		t.Fatalf("a password: %v", err)
	}
	os.MkdirAll(filepath.Join(os.Getenv("HOME"), ".ssh"), 0o700)
	data, _ := os.ReadFile(key)
	os.WriteFile(filepath.Join(os.Getenv("HOME"), ".ssh", "id_ed25519"), data, 0o600)
	if _, err := check("qemu+ssh://h/system", SSHOptions{}); err != nil {
		t.Fatalf("the user's key: %v", err)
	}
	if w, err := CheckFiles(ctx, "qemu+tcp://h/system", DialOptions{}); w != nil || err != nil {
		t.Fatalf("a tcp URI: %v %v", w, err)
	}
}

func TestKnownHostPatterns(t *testing.T) {
	for _, c := range []struct {
		patterns []string
		name     string
		want     bool
	}{
		{[]string{"kvm1"}, "kvm1", true},
		{[]string{"KVM1"}, "kvm1", true},
		{[]string{"kvm*"}, "kvm12", true},
		{[]string{"kvm?"}, "kvm12", false},
		{[]string{"*.example.com", "!bad.example.com"}, "bad.example.com", false},
		{[]string{"*.example.com", "!bad.example.com"}, "good.example.com", true},
		{[]string{"[kvm1]:2222"}, "[kvm1]:2222", true},
		{[]string{"kvm1"}, "[kvm1]:2222", false},
		{[]string{knownhosts.HashHostname("kvm1")}, "kvm1", true},
		{[]string{knownhosts.HashHostname("kvm1")}, "kvm2", false},
		{[]string{"|1|bad|entry"}, "kvm1", false},
	} {
		if got := (knownHost{patterns: c.patterns}).matches(c.name); got != c.want {
			t.Errorf("%v on %s: %v", c.patterns, c.name, got)
		}
	}
	for addr, want := range map[string]string{"h:22": "h", "h:2222": "[h]:2222", "[fd00::1]:22": "fd00::1", "[fd00::1]:23": "[fd00::1]:23"} {
		if got := knownHostName(addr); got != want {
			t.Errorf("knownHostName(%s) = %s, want %s", addr, got, want)
		}
	}
}
