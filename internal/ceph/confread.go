package ceph

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ceph/go-ceph/rados"
)

// MonHost returns the mon_host a session of cfg starts from, names not yet
// resolved: MonHosts joined by commas when given, else the configuration
// file's value as librados reads it for cfg's user (its [client.ID],
// [client] and [global] sections, every spelling of the option). It
// connects to nothing, so a preflight check can probe the monitors before
// any session. "" means the file names no monitor (librados would then look
// for DNS SRV records).
func (cfg Config) MonHost() (string, error) {
	if len(cfg.MonHosts) > 0 {
		return strings.Join(cfg.MonHosts, ","), nil
	}
	if cfg.ConfPath == "" {
		return "", errors.New("ceph: neither a configuration file nor mon_host given")
	}
	user := strings.TrimPrefix(cfg.User, "client.")
	if user == "" {
		user = "admin"
	}
	r, err := rados.NewConnWithUser(user)
	if err != nil {
		return "", fmt.Errorf("ceph: new session for client.%s: %w", user, err)
	}
	defer r.Shutdown()
	if err := r.ReadConfigFile(cfg.ConfPath); err != nil {
		return "", fmt.Errorf("ceph: reading %s: %w", cfg.ConfPath, err)
	}
	v, err := r.GetConfigOption("mon_host")
	if err != nil {
		return "", fmt.Errorf("ceph: mon_host of %s: %w", cfg.ConfPath, err)
	}
	return strings.TrimSpace(v), nil
}
