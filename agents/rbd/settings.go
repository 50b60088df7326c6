package rbd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/agentlog"
	"github.com/kvmha/kvmha/internal/files"
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

// specParams names the parameter behind each name of a krbd.Spec, for exit reasons.
var specParams = map[string]string{"pool": "pool", "namespace": "pool_namespace", "image": "name", "snapshot": "snap"}

// maxMonLen bounds the mon parameter: Ceph's own limit on mon_host is 4 KiB.
const maxMonLen = 4096

// readSettings checks what can be checked without looking at the host:
// names, options and the user. Its errors are ErrConfigured, naming the
// parameter: the configuration is wrong on every node.
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
		var ne *krbd.NameError
		if errors.As(err, &ne) {
			return settings{}, ocf.ParamErrorf(specParams[ne.Field], "%v", err)
		}
		return settings{}, ocf.Errorf(ocf.ErrConfigured, "%v", err)
	}
	if s.user == "" || strings.ContainsAny(s.user, " \t\n,=/") || !printableASCII(s.user) {
		return settings{}, ocf.ParamErrorf("user", "%q is not a cephx id", agentlog.Clip(s.user))
	}
	if err := checkMon(s.mon); err != nil {
		return settings{}, ocf.ParamErrorf("mon", "%v", err)
	}
	opts, err := krbd.CheckOptions(req.String("map_options"))
	if err != nil {
		return settings{}, ocf.ParamErrorf("map_options", "%v", err)
	}
	s.options = opts
	return s, nil
}

// checkMon refuses a mon value librados could not take as mon_host: monitor addresses and
// names are printable ASCII.
func checkMon(mon string) error {
	switch {
	case len(mon) > maxMonLen:
		return fmt.Errorf("longer than %d bytes", maxMonLen)
	case !printableASCII(mon):
		return fmt.Errorf("%q is not a list of monitor addresses: it holds a character that is not printable ASCII", agentlog.Clip(mon))
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// image is the spec in the Ceph helper's terms.
func (s settings) image() cephapi.Image {
	return cephapi.Image{Pool: s.spec.Pool, Namespace: s.spec.Namespace, Name: s.spec.Image, Snap: s.spec.Snap}
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
		return "", ocf.Errorf(ocf.ErrInstalled, "cephconf: the Ceph configuration %q does not exist", agentlog.Clip(s.confPath))
	}
	return "", ocf.Errorf(ocf.ErrInstalled, "cephconf: %v", clipPath(err))
}

// Bounds on the files the parameters name: Ceph configurations and keyrings are a few
// kilobytes; a read that takes longer than fileReadTimeout is a hung mount.
const (
	maxConfSize     = 1 << 20
	fileReadTimeout = 5 * time.Second
)

// checkFiles checks the host's side, as start will meet it: the
// configuration file and the key file exist, are regular files of sane
// size, and hold what librados and the agent can read. Missing or
// unreadable files are ErrInstalled (this node lacks something); a path
// that names something no Ceph configuration can be (a folder, a device,
// a FIFO, a huge file, text librados cannot parse) is ErrConfigured.
func (s settings) checkFiles(ctx context.Context) error {
	conf, err := s.conf()
	if err != nil {
		return err
	}
	if conf != "" {
		rctx, cancel := context.WithTimeout(ctx, fileReadTimeout)
		data, err := files.Read(rctx, conf, maxConfSize)
		cancel()
		if err != nil {
			return fileError("cephconf", err)
		}
		if err := libradosCanParse(data); err != nil {
			return ocf.ParamErrorf("cephconf", "%q %v", agentlog.Clip(conf), err)
		}
	}
	if s.secret == "" {
		return nil
	}
	_, err = s.keySource(ctx)
	return err
}

// fileError turns a files.Read error about the file a parameter names into the right
// exit code, naming the parameter.
func fileError(param string, err error) error {
	err = clipPath(err)
	switch {
	case errors.Is(err, files.ErrNotRegular), errors.Is(err, files.ErrTooLarge):
		return ocf.ParamErrorf(param, "%v", err)
	case errors.Is(err, files.ErrTimedOut):
		return ocf.Errorf(ocf.ErrGeneric, "%s: %v", param, err)
	}
	return ocf.Errorf(ocf.ErrInstalled, "%s: %v", param, err)
}

// clipPath shortens the path in a *fs.PathError: it comes from a parameter and may be
// 100 kB long or hold control characters.
func clipPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: agentlog.Clip(pe.Path), Err: pe.Err}
	}
	return err
}

// libradosCanParse refuses what makes librados' configuration parser abort the process (a
// non-ASCII character outside a comment trips an assertion in it) or fail: NUL bytes.
// Keyrings go through the same parser.
func libradosCanParse(data []byte) error {
	for i, line := range bytes.Split(data, []byte("\n")) {
		t := bytes.TrimLeft(line, " \t")
		if len(t) > 0 && (t[0] == '#' || t[0] == ';') {
			continue
		}
		for _, c := range line {
			if c >= 0x80 || c == 0 {
				return fmt.Errorf("line %d holds a byte that is not ASCII outside a comment: librados cannot read it", i+1)
			}
		}
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
