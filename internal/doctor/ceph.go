package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/files"
)

// CephSession is what the checks ask a Ceph cluster (a *ceph.Conn through
// ConnectCeph; fakes in tests). Errors carry librados' errno (ceph.Errno).
type CephSession interface {
	// ListImages lists a pool's (or namespace's) images.
	ListImages(ctx context.Context, pool, namespace string) ([]string, error)
	// ImageFeatures returns an image's RBD feature bits.
	ImageFeatures(ctx context.Context, pool, namespace, image string) (uint64, error)
	// MonTimestamp is the "timestamp" of the monitor's report.
	MonTimestamp(ctx context.Context) (string, error)
	// MonTimeSkews are the monitors' skews against their leader.
	MonTimeSkews(ctx context.Context) (map[string]float64, error)
	Close()
}

// CephConnector opens a session.
type CephConnector func(ctx context.Context, cfg ceph.Config) (CephSession, error)

// errMonitorsDown is the session's error when no monitor address answered
// the probe: connecting would only wait out the timeout.
var errMonitorsDown = errors.New("no monitor answers")

// cephSession is the run's one session, opened by the first check that
// needs it once the monitors' probe found one that answers.
func (d *Doctor) cephSession(ctx context.Context) (CephSession, error) {
	return d.session.get(ctx, d.base, func(ctx context.Context) (CephSession, error) {
		probes, err := d.monitors(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errMonitorsDown, err)
		}
		if !anyAnswered(probes) {
			return nil, fmt.Errorf("%w (%s)", errMonitorsDown, strings.Join(unreachable(probes), "; "))
		}
		if k := d.Ceph.Keyring; k != "" {
			// librados' own message for an unreadable keyring names no file, and it
			// reads a FIFO or a device without bound.
			rctx, cancel := context.WithTimeout(ctx, keyringReadTimeout)
			_, err := files.Read(rctx, d.Root.path(k), ceph.MaxKeyringSize)
			cancel()
			if err != nil {
				return nil, &keyringError{err}
			}
		}
		return d.ConnectCeph(ctx, d.Ceph)
	})
}

// keyringReadTimeout bounds the read of the keyring: a local file reads at once, one on a
// hung mount never.
const keyringReadTimeout = 2 * time.Second

type keyringError struct{ err error }

func (e *keyringError) Error() string { return "cannot read the keyring: " + e.err.Error() }

// unreachable lists the entries and addresses that did not answer.
func unreachable(probes []monProbe) []string {
	var bad []string
	for _, p := range probes {
		if p.resolveErr != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", p.entry, p.resolveErr))
		}
		for _, a := range p.addrs {
			if a.err != nil {
				bad = append(bad, fmt.Sprintf("%s: %v", a, a.err))
			}
		}
	}
	return bad
}

func anyAnswered(probes []monProbe) bool {
	for _, p := range probes {
		for _, a := range p.addrs {
			if a.err == nil {
				return true
			}
		}
	}
	return false
}

// sessionFailure is the verdict of a check whose Ceph session did not open:
// the cause is ceph-mon's or cephx's to report.
func (d *Doctor) sessionFailure(err error) Result {
	if errors.Is(err, errMonitorsDown) {
		return d.dependent("ceph-mon", fail(d.monFix(), "no Ceph session: %v", err))
	}
	r := d.cephxFailure(err)
	r.Detail = "no Ceph session: " + r.Detail
	return d.dependent("cephx", r)
}

func (d *Doctor) user() string {
	u := strings.TrimPrefix(d.Ceph.User, "client.")
	if u == "" {
		u = "admin"
	}
	return "client." + u
}

func (d *Doctor) keyringName() string {
	if d.Ceph.Keyring == "" {
		return "the keyring librados finds (give --ceph-keyring)"
	}
	return d.Ceph.Keyring
}

// capsFix says which caps the user needs for the pools.
func (d *Doctor) capsFix() string {
	var osd []string
	for _, p := range d.Pools {
		c := "profile rbd pool=" + p.Name
		if p.Namespace != "" {
			c += " namespace=" + p.Namespace
		}
		osd = append(osd, c)
	}
	return fmt.Sprintf("give %s rbd caps: ceph auth caps %s mon 'profile rbd' osd '%s'",
		d.user(), d.user(), strings.Join(osd, ", "))
}

// cephxFailure explains why the session did not open.
func (d *Doctor) cephxFailure(err error) Result {
	var ke *keyringError
	switch n := ceph.Errno(err); {
	case errors.As(err, &ke):
		return fail(fmt.Sprintf("give the path of %s's keyring (--ceph-keyring) and make it readable", d.user()),
			"%s: %v", d.Ceph.Keyring, ke.err)
	case n == 1 || n == 13: // EPERM, EACCES: cephx refused the key
		return fail(fmt.Sprintf("put %s's current key in %s: ceph auth get %s -o %s (on a host with admin rights)",
			d.user(), d.keyringName(), d.user(), d.keyringOrDefault()),
			"%s cannot authenticate with %s: wrong key, or no such user (%v)", d.user(), d.keyringName(), err)
	case n == 2: // ENOENT: no keyring with the user's key
		return fail(fmt.Sprintf("give --ceph-keyring, the file with %s's key", d.user()),
			"no key for %s: %v", d.user(), err)
	case n == 110: // ETIMEDOUT
		return fail(d.monFix(), "the monitors did not complete the session in time: %v", err)
	}
	return fail("see the error; check --ceph-conf, --ceph-user and --ceph-keyring", "%v", err)
}

func (d *Doctor) keyringOrDefault() string {
	if d.Ceph.Keyring != "" {
		return d.Ceph.Keyring
	}
	return "/etc/ceph/ceph." + d.user() + ".keyring"
}

func (d *Doctor) monFix() string {
	if len(d.Ceph.MonHosts) > 0 {
		return "start the monitors, or correct --mon-host"
	}
	return fmt.Sprintf("start the monitors, or correct mon_host in %s", d.Ceph.ConfPath)
}

// checkMonitors: every address of every monitor answers as a monitor.
func (d *Doctor) checkMonitors(ctx context.Context) Result {
	probes, err := d.monitors(ctx)
	if err != nil {
		return fail("give a readable Ceph configuration with mon_host (--ceph-conf) or --mon-host",
			"cannot find the monitors: %v", err)
	}
	var good, bad []string
	for _, p := range probes {
		if p.resolveErr != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", p.entry, p.resolveErr))
			continue
		}
		for _, a := range p.addrs {
			switch {
			case a.ok():
				good = append(good, fmt.Sprintf("%s (msgr%s)", a.addr, a.got[1:]))
			case a.err == nil:
				bad = append(bad, fmt.Sprintf("%s speaks msgr%s, not %s", a.addr, a.got[1:], a.want))
			default:
				bad = append(bad, fmt.Sprintf("%s: %v", a, a.err))
			}
		}
	}
	if len(bad) > 0 {
		return fail(d.monFix()+" (unreachable: "+strings.Join(bad, "; ")+")",
			"%d of %d monitor addresses unreachable: %s", len(bad), len(bad)+len(good), strings.Join(bad, "; "))
	}
	return pass("%s answer: %s", plural(len(good), "monitor address"), strings.Join(good, ", "))
}

// checkCephx: the user authenticates and reads every pool.
func (d *Doctor) checkCephx(ctx context.Context) Result {
	s, err := d.cephSession(ctx)
	if err != nil {
		if errors.Is(err, errMonitorsDown) {
			return d.dependent("ceph-mon", fail(d.monFix(), "cannot authenticate: %v", err))
		}
		return d.cephxFailure(err)
	}
	if len(d.Pools) == 0 {
		return pass("%s authenticated (no pools to read)", d.user())
	}
	var read, bad []string
	var fix string
	for _, p := range d.Pools {
		names, err := s.ListImages(ctx, p.Name, p.Namespace)
		switch n := ceph.Errno(err); {
		case err == nil:
			read = append(read, fmt.Sprintf("%s (%s)", p, plural(len(names), "image")))
		case n == 2 && p.Namespace != "":
			bad = append(bad, fmt.Sprintf("namespace %s does not exist", p))
			if fix == "" {
				fix = "correct --pools (rbd namespace ls " + p.Name + ")"
			}
		case n == 2:
			bad = append(bad, fmt.Sprintf("pool %s does not exist", p))
			if fix == "" {
				fix = "correct --pools (ceph osd pool ls)"
			}
		case n == 1 || n == 13:
			bad = append(bad, fmt.Sprintf("%s may not read pool %s (%v)", d.user(), p, err))
			fix = d.capsFix()
		default:
			bad = append(bad, fmt.Sprintf("pool %s: %v", p, err))
			if fix == "" {
				fix = "see the error"
			}
		}
	}
	if len(bad) > 0 {
		return fail(fix, "%s authenticated, but %s", d.user(), strings.Join(bad, "; "))
	}
	return pass("%s authenticated and reads %s", d.user(), strings.Join(read, ", "))
}

// plural is "1 image", "2 images".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "s") {
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
