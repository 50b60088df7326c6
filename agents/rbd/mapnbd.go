package rbd

import (
	"context"

	"strings"

	"github.com/kvmha/kvmha/agents/rbd/cephapi"
	"github.com/kvmha/kvmha/internal/deadline"
	"github.com/kvmha/kvmha/internal/krbd"
	"github.com/kvmha/kvmha/internal/ocf"
)

// mapNBD starts "rbd-nbd map <spec>" and finds the device it connected by
// the rbd-nbd process's command line, as monitor does. rbd-nbd reads the
// key itself: the command line names the keyring or key file, never the
// key, and rbd-nbd gets hostcmd's environment (PATH and LC_ALL only).
func (a *agent) mapNBD(ctx context.Context, req *ocf.Request, s settings, sess cephapi.Session, key keySource) (mapping, error) {
	argv, err := a.nbdArgs(s, sess, key)
	if err != nil {
		return mapping{}, err
	}
	req.Log.Infof("mapping %s with rbd-nbd: %s", s.describe(), strings.Join(argv, " "))
	stderr, err := a.runNBD(ctx, argv)
	if err != nil {
		msg := lastLines(req.Redact(stderr), 3, 400)
		if msg != "" {
			msg = ": " + msg
		}
		return mapping{}, ocf.Errorf(ocf.ErrGeneric, "rbd-nbd map %s failed (%v)%s", s.spec, err, msg)
	}
	for {
		ms, err := a.tree.MappedNBD(s.spec)
		if err != nil {
			return mapping{}, ocf.Errorf(ocf.ErrGeneric, "looking for the nbd device of %s: %v", s.spec, err)
		}
		if len(ms) == 1 {
			return mapping{driver: driverNBD, nbd: ms[0]}, nil
		}
		if len(ms) > 1 {
			return mapping{}, ocf.Errorf(ocf.ErrGeneric, "rbd-nbd serves %s on %d devices", s.spec, len(ms))
		}
		if err := deadline.Sleep(ctx, a.poll); err != nil {
			return mapping{}, ocf.Errorf(ocf.ErrGeneric, "rbd-nbd map %s succeeded, but no nbd device is served by it", s.spec)
		}
	}
}

// nbdArgs is the rbd-nbd command line: "map" and the spec first (the
// shape krbd.ParseRBDNBDArgs reads back), then the options.
func (a *agent) nbdArgs(s settings, sess cephapi.Session, key keySource) ([]string, error) {
	path, err := a.lookPath("rbd-nbd")
	if err != nil {
		return nil, ocf.Errorf(ocf.ErrInstalled, "rbd-nbd: %v", err)
	}
	argv := []string{path, "map", s.spec.String(), "--id", s.user}
	conf, err := s.conf()
	if err != nil {
		return nil, err
	}
	if conf != "" {
		argv = append(argv, "--conf", conf)
	}
	switch key.format {
	case krbd.Keyring:
		argv = append(argv, "--keyring", key.path)
	case krbd.BareKey:
		argv = append(argv, "--keyfile", key.path)
	}
	if s.mon != "" {
		monHost, err := sess.MonHost()
		if err != nil {
			return nil, ocf.Errorf(ocf.ErrGeneric, "the monitors' addresses: %v", err)
		}
		argv = append(argv, "--mon_host", monHost)
	}
	if s.readOnly && !krbd.HasOption(s.options, "read-only") {
		argv = append(argv, "--read-only")
	}
	for _, o := range s.options {
		k, v, hasValue := strings.Cut(o, "=")
		argv = append(argv, "--"+k)
		if hasValue {
			argv = append(argv, v)
		}
	}
	return argv, nil
}

// lastLines keeps the last n non-empty lines of text, at most max bytes,
// joined by "; ".
func lastLines(text string, n, max int) string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, "; ")
	if len(out) > max {
		out = "…" + out[len(out)-max:]
	}
	return out
}
