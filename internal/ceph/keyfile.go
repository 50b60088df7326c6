package ceph

import "context"

// ConnectKeyFile is Connect for a key kept alone in a file (the format of
// rbd --keyfile and mount.ceph's secretfile) instead of a keyring: librados
// reads it through its keyfile option. The key still passes through no
// argument, environment variable or config value of this package.
// (cfg.Keyring is ignored when keyFile is set.)
func ConnectKeyFile(ctx context.Context, cfg Config, keyFile string) (*Conn, error) {
	if keyFile == "" {
		return Connect(ctx, cfg)
	}
	cfg.Keyring = ""
	return connect(ctx, cfg, keyFile)
}
