package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/doctor"
	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/hostcmd"
	"github.com/kvmha/kvmha/internal/libvirt"
)

// doctorCommand is `kvmha doctor`: the host's preflight checks.
func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:        "doctor",
		Usage:       "check this host's libvirt, qemu, Ceph, kernel and cluster setup and say how to fix what is wrong",
		Description: doctorDescription(),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ceph-conf", Value: "/etc/ceph/ceph.conf", Usage: "Ceph configuration file (its mon_host is probed)"},
			&cli.StringFlag{Name: "ceph-user", Value: "admin", Usage: "cephx user id, without client."},
			&cli.StringFlag{Name: "ceph-keyring", Usage: "keyring file of --ceph-user (default: librados' search path)"},
			&cli.StringFlag{Name: "mon-host", Usage: "monitors instead of the configuration file's mon_host (addresses or names, commas between)"},
			&cli.StringFlag{Name: "pools", Value: "rbd", Usage: "pools (POOL or POOL/NAMESPACE, commas between) the user must read and whose images krbd must map"},
			&cli.StringFlag{Name: "libvirt-uri", Value: "qemu:///system", Usage: "the libvirtd that runs the guests"},
			&cli.StringFlag{Name: "heartbeat-state-dir", Value: heartbeat.DefaultStateDir, Usage: "the heartbeat daemon's state directory (HostHeartbeat's state_dir)"},
			&cli.StringFlag{Name: "cib", Usage: "judge the fencing of this saved CIB (cibadmin --query > FILE; - for stdin) instead of the live cluster's"},
			&cli.StringFlag{Name: "check", Usage: "run only these checks or families (commas between)"},
			&cli.StringFlag{Name: "skip", Usage: "leave out these checks or families (commas between)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"},
			&cli.DurationFlag{Name: "timeout", Value: doctor.DefaultTimeout, Usage: "bound for the whole command; checks of daemons get 4/5 of it each, checks of local files 2/5"},
		},
		Action: runDoctor,
	}
}

// doctorDescription is the long help: the checks, and the rules.
func doctorDescription() string {
	var b strings.Builder
	b.WriteString("Runs every check at once, each bounded, and prints one line per check: its status " +
		"(PASS, WARN, FAIL, SKIP), its name, what it found and, for WARN and FAIL, the fix. " +
		"Exit status: 0 when no check failed (warnings allowed), 1 when one did, 2 for bad usage.\n\nChecks:\n")
	for _, c := range doctor.New().Checks() {
		i := c.Info()
		fmt.Fprintf(&b, "  %-13s (%s) %s\n", i.Name, i.Family, i.Doc)
	}
	b.WriteString("\n--check and --skip take check names or families (libvirt, qemu, ceph, kernel, o2cb, clock, " +
		"cluster): --skip o2cb on hosts without OCFS2, --check ceph,clock to look at Ceph alone.\n")
	b.WriteString("\nA check that does not apply (no heartbeat configured here, no Pacemaker, the rbd module " +
		"not loaded so its features are unknown) says SKIP and why; so does one whose prerequisite " +
		"failed in another check of the run (no Ceph session: see cephx). " +
		"qemu's rbd support is read from the ELF files (the rbd driver linked in, or block-rbd.so in qemu's " +
		"module directory with the binary's build stamp); nothing is started. " +
		"The clock is compared with the timestamp of the monitors' report (read-only), to within half the " +
		"round trip plus the monitors' skews among themselves: WARN above 0.05 s (mon_clock_drift_allowed), " +
		"FAIL above 0.5 s. node-name asks Pacemaker (crm_node -n) and reads the heartbeat daemon's configuration, " +
		"state and records. systemd-order reads the unit files and their drop-ins under /etc, /run and /lib (no systemctl), " +
		"following After= and Before= through every unit they name. fence-timing reads the CIB (cibadmin --query, or --cib FILE) " +
		"and /etc/corosync/corosync.conf: each fence_kvmha device's time to prove a silent host dead (HostHeartbeat's timeout + " +
		"watchdog_timeout + margin + one interval + 5 s) against pcmk_<stonith-action>_timeout (whole seconds, as the fencer reads it) " +
		"or stonith-timeout, and against the agent's own deadline; heartbeats without a watchdog; corosync's token + consensus " +
		"against stonith-timeout. Images with features the kernel lacks are a WARN: qemu opens them, krbd cannot map them. " +
		"--output json prints an array of {check, family, status, detail, fix, seconds}, in the order above.")
	return b.String()
}

func runDoctor(c *cli.Context) error {
	out := c.String("output")
	if out != "table" && out != "json" {
		return cli.Exit("--output must be table or json", 2)
	}
	if c.NArg() > 0 {
		return cli.Exit("kvmha doctor takes no arguments, only flags", 2)
	}
	if c.Duration("timeout") <= 0 {
		return cli.Exit("--timeout must be positive", 2)
	}
	d := doctor.New()
	var err error
	if d.Pools, err = doctor.ParsePools(c.String("pools")); err != nil {
		return cli.Exit(err.Error(), 2)
	}
	d.Ceph = ceph.Config{ConfPath: c.String("ceph-conf"), User: c.String("ceph-user"), Keyring: c.String("ceph-keyring")}
	if mh := c.String("mon-host"); mh != "" {
		if err := ceph.CheckMonHost(mh); err != nil {
			return cli.Exit("--mon-host: "+err.Error(), 2)
		}
		d.Ceph.MonHosts = []string{mh}
	}
	d.LibvirtURI = c.String("libvirt-uri")
	if err := libvirt.CheckURI(d.LibvirtURI); err != nil {
		return cli.Exit("--libvirt-uri: "+err.Error(), 2)
	}
	d.HeartbeatStateDir = c.String("heartbeat-state-dir")
	d.Timeout = c.Duration("timeout")
	if c.IsSet("cib") {
		cib, err := readDoctorCIB(c.Context, c.String("cib"), c.App.Reader, d.Timeout)
		if err != nil {
			return cli.Exit("--cib: "+err.Error(), 2)
		}
		d.CIB = func(context.Context) ([]byte, error) { return cib, nil }
	}
	checks, err := doctor.Select(d.Checks(), splitList(c.String("check")), splitList(c.String("skip")))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if len(checks) == 0 {
		return cli.Exit("--check and --skip leave no check to run", 2)
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	start := time.Now()
	results := d.Run(ctx, checks)
	for i := range results {
		// A finding may quote a flag's value (a path, a URI): never a key.
		results[i].Detail = messageRedactor.Redact(results[i].Detail)
		results[i].Fix = messageRedactor.Redact(results[i].Fix)
	}
	if out == "json" {
		err = writeDoctorJSON(c.App.Writer, results)
	} else {
		err = writeDoctorTable(c.App.Writer, results, time.Since(start))
	}
	if err != nil {
		return err
	}
	if doctor.Failed(results) {
		return cli.Exit("", 1)
	}
	return nil
}

// readDoctorCIB reads a saved CIB ("-": stdin) within timeout: a regular file or a stream
// closed by its writer, of at most what cibadmin may print. Its content is judged by the
// fence-timing check.
func readDoctorCIB(ctx context.Context, path string, stdin io.Reader, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if path == "-" {
		return files.ReadStream(ctx, stdin, "stdin", hostcmd.MaxCIB)
	}
	if path == "" {
		return nil, errors.New("no file given")
	}
	return files.Read(ctx, path, hostcmd.MaxCIB)
}

// splitList splits a comma (or blank) separated list.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
