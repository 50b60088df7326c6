package libvirt

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/kvmha/kvmha/internal/files"
)

// maxKnownHostsFile bounds the read of one known hosts file: a line per
// host key, a few MiB for the largest sites.
const maxKnownHostsFile = 16 << 20

// knownHosts holds the entries of OpenSSH known hosts files, read bounded
// and parsed here (x/crypto's knownhosts reads files without bound, and
// one line it cannot parse fails the whole file, where ssh skips the line).
type knownHosts struct {
	entries []knownHost
	files   []string // the files that were read, for messages
}

type knownHost struct {
	marker   string // "", "cert-authority" or "revoked" (the line's @marker)
	patterns []string
	key      ssh.PublicKey
}

// readKnownHosts reads the files that exist among paths; "none" and
// /dev/null stand for no file, as in ssh_config. A path that exists but is
// no regular file, too large or unreadable in time is an error.
func readKnownHosts(ctx context.Context, paths []string) (*knownHosts, error) {
	kh := &knownHosts{}
	for _, path := range paths {
		if path == "" || path == "none" || path == "/dev/null" {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, sshFileWait)
		data, err := files.Read(rctx, path, maxKnownHostsFile)
		cancel()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("known hosts file \"%s\": %w", boundedText(path), files.Cause(err))
		}
		kh.files = append(kh.files, path)
		for _, line := range bytes.Split(data, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			marker, hosts, key, _, _, err := ssh.ParseKnownHosts(line)
			if err != nil || key == nil {
				continue // as ssh does: a line it cannot read is no entry
			}
			kh.entries = append(kh.entries, knownHost{marker: marker, patterns: hosts, key: key})
		}
	}
	return kh, nil
}

// knownHostName is the name an address has in known hosts files: host for
// port 22, [host]:port otherwise.
func knownHostName(address string) string {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return address
	}
	if port == defaultSSHPort {
		return host
	}
	return "[" + host + "]:" + port
}

// matches applies an entry's patterns to a known-host name: a hashed name
// (|1|salt|hash), a pattern with * and ?, or a negated pattern, which
// excludes the host whatever else matches.
func (e knownHost) matches(name string) bool {
	matched := false
	for _, p := range e.patterns {
		negated := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		var ok bool
		if strings.HasPrefix(p, "|1|") {
			ok = hashedNameMatches(p, name)
		} else {
			ok = wildcardMatch(strings.ToLower(p), strings.ToLower(name))
		}
		if ok && negated {
			return false
		}
		matched = matched || ok
	}
	return matched
}

// hashedNameMatches checks a HashKnownHosts entry: |1|base64(salt)|base64(HMAC-SHA1(salt, name)).
func hashedNameMatches(entry, name string) bool {
	parts := strings.Split(entry, "|")
	if len(parts) != 4 {
		return false
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[2])
	sum, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(name))
	return hmac.Equal(mac.Sum(nil), sum)
}

// wildcardMatch matches s against a pattern where * is any run of
// characters and ? any one character.
func wildcardMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcardMatch(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
		default:
			if len(s) == 0 || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return len(s) == 0
}

func sameKey(a, b ssh.PublicKey) bool {
	return a.Type() == b.Type() && bytes.Equal(a.Marshal(), b.Marshal())
}

// revoked reports whether key is marked @revoked.
func (kh *knownHosts) revoked(key ssh.PublicKey) bool {
	for _, e := range kh.entries {
		if e.marker == "revoked" && sameKey(e.key, key) {
			return true
		}
	}
	return false
}

// keysOf returns the plain (non-CA) keys known for a known-host name.
func (kh *knownHosts) keysOf(name string) []ssh.PublicKey {
	var keys []ssh.PublicKey
	for _, e := range kh.entries {
		if e.marker == "" && e.matches(name) {
			keys = append(keys, e.key)
		}
	}
	return keys
}

// hasAuthorityFor reports whether a @cert-authority entry covers name.
func (kh *knownHosts) hasAuthorityFor(name string) bool {
	for _, e := range kh.entries {
		if e.marker == "cert-authority" && e.matches(name) {
			return true
		}
	}
	return false
}

// hostKeyAlgorithms is what the client asks the server for, as ssh does:
// when the host has known keys, their algorithms only (a server with an
// ed25519 key and a known RSA key would otherwise present the ed25519
// key, which looks changed); certificates only when an authority covers
// the host. nil: x/crypto's defaults.
func (kh *knownHosts) hostKeyAlgorithms(address string) []string {
	name := knownHostName(address)
	if kh.hasAuthorityFor(name) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algos = append(algos, a)
		}
	}
	for _, k := range kh.keysOf(name) {
		if k.Type() == ssh.KeyAlgoRSA {
			add(ssh.KeyAlgoRSASHA512)
			add(ssh.KeyAlgoRSASHA256)
		}
		add(k.Type())
	}
	if len(algos) > 0 {
		return algos
	}
	// An unknown host: any plain key (a certificate could not be checked).
	for _, a := range ssh.SupportedAlgorithms().HostKeys {
		if !strings.Contains(a, "-cert-") {
			algos = append(algos, a)
		}
	}
	return algos
}

// hostKeyCheck is the decision on one host key.
type hostKeyCheck int

const (
	hostKeyKnown hostKeyCheck = iota
	hostKeyUnknown
	hostKeyChanged
	hostKeyRevoked
)

func (kh *knownHosts) check(address string, key ssh.PublicKey) hostKeyCheck {
	if kh.revoked(key) {
		return hostKeyRevoked
	}
	known := kh.keysOf(knownHostName(address))
	for _, k := range known {
		if sameKey(k, key) {
			return hostKeyKnown
		}
	}
	if len(known) == 0 {
		return hostKeyUnknown
	}
	return hostKeyChanged
}

// callback is the host key callback of one dial under policy; changed is
// set when a changed key was accepted (HostKeyAcceptAny), which turns
// password authentication off.
func (kh *knownHosts) callback(policy HostKeyPolicy, logf func(string, ...any), changed *atomic.Bool) ssh.HostKeyCallback {
	where := "any known hosts file (none was found)"
	if len(kh.files) > 0 {
		where = "known hosts (" + boundedText(strings.Join(kh.files, ", ")) + ")"
	}
	plain := func(address string, _ net.Addr, key ssh.PublicKey) error {
		name, fp := knownHostName(address), ssh.FingerprintSHA256(key)
		switch kh.check(address, key) {
		case hostKeyKnown:
			return nil
		case hostKeyRevoked:
			return fmt.Errorf("the %s host key of %s (%s) is marked @revoked in %s", key.Type(), name, fp, where)
		case hostKeyUnknown:
			if policy == HostKeyAcceptNew || policy == HostKeyAcceptAny {
				logf("ssh: %s is not in %s; its %s host key %s is accepted by the host key policy (and not recorded)", name, where, key.Type(), fp)
				return nil
			}
			return fmt.Errorf("the %s host key of %s (%s) is not in %s: add it (ssh-keyscan), or accept new keys "+
				"(StrictHostKeyChecking=accept-new)", key.Type(), name, fp, where)
		default:
			if policy == HostKeyAcceptAny {
				changed.Store(true)
				logf("WARNING: the host key of %s has changed (now %s %s, not the one in %s); accepted because host keys are not verified, "+
					"password authentication refused", name, key.Type(), fp, where)
				return nil
			}
			return fmt.Errorf("the host key of %s has CHANGED (now %s %s, not the one in %s): refused; "+
				"if the host was reinstalled, replace its entry (ssh-keygen -R)", name, key.Type(), fp, where)
		}
	}
	cc := &ssh.CertChecker{
		IsHostAuthority: func(auth ssh.PublicKey, address string) bool {
			name := knownHostName(address)
			for _, e := range kh.entries {
				if e.marker == "cert-authority" && e.matches(name) && sameKey(e.key, auth) {
					return true
				}
			}
			return false
		},
		IsRevoked: func(cert *ssh.Certificate) bool {
			return kh.revoked(cert.Key) || kh.revoked(cert.SignatureKey)
		},
		HostKeyFallback: plain,
	}
	return cc.CheckHostKey
}
