package ceph

import (
	"context"
	"fmt"
	"strings"

	"github.com/ceph/go-ceph/rados"
)

// ConnectKeyFile is Connect for a key kept alone in a file (the format of
// rbd --keyfile and mount.ceph's secretfile) instead of a keyring: librados
// reads it through its keyfile option. The key still passes through no
// argument, environment variable or config value of this package.
// (cfg.Keyring is ignored when keyFile is set.)
func ConnectKeyFile(ctx context.Context, cfg Config, keyFile string) (*Conn, error) {
	if keyFile == "" {
		return Connect(ctx, cfg)
	}
	user := cfg.User
	if user == "" {
		user = "admin"
	}
	user = strings.TrimPrefix(user, "client.")
	r, err := rados.NewConnWithUser(user)
	if err != nil {
		return nil, fmt.Errorf("ceph: new session for client.%s: %w", user, err)
	}
	c := &Conn{rados: r}
	cfg.Keyring = ""
	if err := c.configure(ctx, cfg); err != nil {
		c.Close()
		return nil, err
	}
	if err := r.SetConfigOption("keyfile", keyFile); err != nil {
		c.Close()
		return nil, fmt.Errorf("ceph: setting keyfile: %w", err)
	}
	if err := c.open(ctx, cfg, user); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
