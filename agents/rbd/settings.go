package rbd

import (
	"errors"
	"os"
	"strings"

	"github.com/kvmha/kvmha/agents/rbd/rbdceph"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// settings are the parameters, checked and typed.
type settings struct {
	spec      krbd.Spec
	confPath  string // as configured; see conf
	mon       string
	user      string
	secret    string // path of a key or keyring file, "" for the configuration's keyring
	driver    string
	exclusive bool
	readOnly  bool     // read_only, or a snapshot
	options   []string // map_options split
	force     bool
}

// readSettings checks what can be checked without looking at the host:
// names, options and the user. Its errors are ErrConfigured: the
// configuration is wrong on every node.
func readSettings(req *ocf.Request) (settings, error) {
	s := settings{
		spec: krbd.Spec{
			Pool:      req.String("pool"),
			Namespace: req.String("pool_namespace"),
			Image:     req.String("name"),
			Snap:      req.String("snap"),
		},
		confPath:  req.String("cephconf"),
		mon:       strings.TrimSpace(req.String("mon")),
		user:      strings.TrimPrefix(req.String("user"), "client."),
		secret:    req.String("secret"),
		driver:    req.String("driver"),
		exclusive: req.Bool("exclusive"),
		readOnly:  req.Bool("read_only") || req.String("snap") != "",
		force:     req.Bool("force_unmap"),
	}
	if err := s.spec.Check(); err != nil {
		return settings{}, ocf.Errorf(ocf.ErrConfigured, "%v", err)
	}
	if s.user == "" || strings.ContainsAny(s.user, " \t\n,=/") {
		return settings{}, ocf.Errorf(ocf.ErrConfigured, "user %q is not a cephx id", s.user)
	}
	opts, err := krbd.CheckOptions(req.String("map_options"))
	if err != nil {
		return settings{}, ocf.Errorf(ocf.ErrConfigured, "map_options: %v", err)
	}
	s.options = opts
	return s, nil
}

// image is the spec in the Ceph helper's terms.
func (s settings) image() rbdceph.Image {
	return rbdceph.Image{Pool: s.spec.Pool, Namespace: s.spec.Namespace, Name: s.spec.Image, Snap: s.spec.Snap}
}

// conf is the configuration file to read: the configured one, or "" when
// the default is absent and mon says where the monitors are. A configured
// file that is missing is an error.
func (s settings) conf() (string, error) {
	_, err := os.Stat(s.confPath)
	switch {
	case err == nil:
		return s.confPath, nil
	case errors.Is(err, os.ErrNotExist) && s.confPath == defaultCephConf && s.mon != "":
		return "", nil
	case errors.Is(err, os.ErrNotExist):
		return "", ocf.Errorf(ocf.ErrInstalled, "the Ceph configuration %s does not exist", s.confPath)
	}
	return "", ocf.Errorf(ocf.ErrInstalled, "the Ceph configuration: %v", err)
}

// checkFiles checks the host's side: configuration and key file. Its
// errors are ErrInstalled (this node lacks something).
func (s settings) checkFiles() error {
	if _, err := s.conf(); err != nil {
		return err
	}
	if s.secret == "" {
		return nil
	}
	st, err := os.Stat(s.secret)
	if err != nil {
		return ocf.Errorf(ocf.ErrInstalled, "secret file: %v", err)
	}
	if !st.Mode().IsRegular() {
		return ocf.Errorf(ocf.ErrInstalled, "secret file %s is not a regular file", s.secret)
	}
	return nil
}

// describe names the mapping in messages: "rbd/vm1" or "rbd/ns/vm1@snap".
func (s settings) describe() string { return s.spec.String() }

// monHosts is the mon parameter as internal/ceph takes it: one string,
// split by the same rules as mon_host.
func (s settings) monHosts() []string {
	if s.mon == "" {
		return nil
	}
	return []string{s.mon}
}
