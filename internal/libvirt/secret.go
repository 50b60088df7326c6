package libvirt

import (
	"context"
	"errors"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// Secret identifies a libvirt secret.
type Secret struct {
	UUID  string
	Usage string // usage id, e.g. the name of a ceph secret
	ref   golibvirt.Secret
}

func newSecret(s golibvirt.Secret) Secret {
	return Secret{UUID: formatUUID(s.UUID), Usage: s.UsageID, ref: s}
}

// SecretByUUID looks a secret up by UUID.
func (c *Conn) SecretByUUID(ctx context.Context, uuid string) (Secret, error) {
	u, err := ParseUUID(uuid)
	if err != nil {
		return Secret{}, &Error{Op: "look up secret", Err: err}
	}
	s, err := call(ctx, c, "look up secret "+uuid, func() (golibvirt.Secret, error) {
		return c.rpc.SecretLookupByUUID(u)
	})
	if err != nil {
		return Secret{}, err
	}
	return newSecret(s), nil
}

// CephSecretByUsage looks up the secret of usage type ceph with this usage
// name (<usage type='ceph'><name>…</name></usage>).
func (c *Conn) CephSecretByUsage(ctx context.Context, usage string) (Secret, error) {
	s, err := call(ctx, c, "look up ceph secret "+usage, func() (golibvirt.Secret, error) {
		return c.rpc.SecretLookupByUsage(int32(golibvirt.SecretUsageTypeCeph), usage)
	})
	if err != nil {
		return Secret{}, err
	}
	return newSecret(s), nil
}

// DefineSecret creates or updates a secret from its XML (no value).
func (c *Conn) DefineSecret(ctx context.Context, xml string) (Secret, error) {
	s, err := call(ctx, c, "define secret", func() (golibvirt.Secret, error) {
		return c.rpc.SecretDefineXML(xml, 0)
	})
	if err != nil {
		return Secret{}, err
	}
	return newSecret(s), nil
}

// SetSecretValue stores value (raw bytes: a cephx key decoded from base64)
// in the secret. The value travels only over the RPC connection.
func (c *Conn) SetSecretValue(ctx context.Context, s Secret, value []byte) error {
	err := c.do(ctx, "set value of secret "+s.UUID, func() error {
		return c.rpc.SecretSetValue(s.ref, value, 0)
	})
	if err != nil && len(value) > 0 && strings.Contains(err.Error(), string(value)) {
		// libvirt's messages do not quote the value; make sure no future one leaks it.
		return &Error{Op: "set value of secret " + s.UUID, Kind: kindOf(err), Code: Code(err)}
	}
	return err
}

// kindOf returns the Err* kind err matches, or nil.
func kindOf(err error) error {
	for _, k := range []error{ErrNotFound, ErrUnreachable, ErrInvalidOperation, ErrUnsupported} {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// UndefineSecret deletes a secret and its value.
func (c *Conn) UndefineSecret(ctx context.Context, s Secret) error {
	return c.do(ctx, "undefine secret "+s.UUID, func() error { return c.rpc.SecretUndefine(s.ref) })
}
