package krbd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
)

// Secret is a cephx key: the kernel client takes the key itself, having no
// keyring reader of its own. It prints as a placeholder in every format, so
// logging one by mistake shows nothing; Wipe clears it.
type Secret struct{ b []byte }

const hiddenSecret = "<cephx key hidden>"

func (Secret) String() string   { return hiddenSecret }
func (Secret) GoString() string { return hiddenSecret }

// Format makes %v, %s, %q, %x and friends print the placeholder too.
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, hiddenSecret) }

// IsZero reports whether no key is held.
func (s Secret) IsZero() bool { return len(s.b) == 0 }

// Wipe overwrites the key in memory.
func (s *Secret) Wipe() {
	clear(s.b)
	s.b = nil
}

// maxKeyFile bounds a key or keyring file; real ones are a few hundred bytes.
const maxKeyFile = 64 << 10

// KeyFileFormat says how a file holds the key.
type KeyFileFormat int

const (
	// BareKey is a file holding only the base64 key (rbd --keyfile,
	// mount.ceph secretfile).
	BareKey KeyFileFormat = iota + 1
	// Keyring is a Ceph keyring: "[client.<id>]" sections with "key = ...".
	Keyring
)

// ReadSecretFile reads the key of client.<user> from a keyring or a bare
// key file: a regular file of at most 64 KiB, read before ctx ends (a FIFO,
// a device or a hung mount is refused, not waited for).
func ReadSecretFile(ctx context.Context, path, user string) (Secret, KeyFileFormat, error) {
	data, err := files.Read(ctx, path, maxKeyFile)
	if errors.Is(err, files.ErrTooLarge) {
		return Secret{}, 0, fmt.Errorf("%s is larger than a key file can be", agentlog.Clip(path))
	}
	if err != nil {
		return Secret{}, 0, err
	}
	defer clear(data)
	s, format, err := ParseSecret(data, user)
	if err != nil {
		return Secret{}, 0, fmt.Errorf("%s: %w", agentlog.Clip(path), err)
	}
	return s, format, nil
}

// ParseSecret finds client.<user>'s key in a keyring, or takes the whole
// content as a bare key when it has no section header. Errors never quote
// the content.
func ParseSecret(data []byte, user string) (Secret, KeyFileFormat, error) {
	entity := "client." + strings.TrimPrefix(user, "client.")
	if !looksLikeKeyring(data) {
		key := bytes.TrimSpace(data)
		if err := checkKey(key); err != nil {
			return Secret{}, 0, err
		}
		return Secret{b: bytes.Clone(key)}, BareKey, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxKeyFile)
	inSection, found := false, false
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := bytes.IndexByte(line, ']')
			if end < 0 {
				return Secret{}, 0, errors.New("keyring has a section header without ]")
			}
			inSection = string(bytes.TrimSpace(line[1:end])) == entity
			found = found || inSection
			continue
		}
		if !inSection {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte("="))
		if !ok || string(bytes.TrimSpace(k)) != "key" {
			continue
		}
		key := bytes.TrimSpace(v)
		if err := checkKey(key); err != nil {
			return Secret{}, 0, fmt.Errorf("key of %s: %w", entity, err)
		}
		return Secret{b: bytes.Clone(key)}, Keyring, nil
	}
	if err := sc.Err(); err != nil {
		return Secret{}, 0, fmt.Errorf("keyring: %w", err)
	}
	if found {
		return Secret{}, 0, fmt.Errorf("keyring has no key for %s", entity)
	}
	return Secret{}, 0, fmt.Errorf("keyring has no [%s] section", entity)
}

// looksLikeKeyring: a keyring's first meaningful line is a section header.
func looksLikeKeyring(data []byte) bool {
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' || line[0] == ';' {
			continue
		}
		return line[0] == '['
	}
	return false
}

// checkKey accepts what a cephx key is: standard base64 of a CryptoKey
// (2 bytes type, 8 bytes creation time, 2 bytes length, then the secret).
func checkKey(key []byte) error {
	if len(key) == 0 {
		return errors.New("the key is empty")
	}
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(key)))
	defer clear(buf)
	n, err := base64.StdEncoding.Decode(buf, key)
	if err != nil {
		return errors.New("the key is not base64")
	}
	if n < 13 {
		return errors.New("the key is too short to be a cephx key")
	}
	return nil
}
