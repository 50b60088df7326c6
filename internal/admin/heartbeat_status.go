package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kvmha/kvmha/internal/ceph"
	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/radosbackend"
	"github.com/kvmha/kvmha/internal/heartbeat/service"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show every host's heartbeat: age of its last beat, backends, guests, I/O",
		Description: "Reads every host's record on the local daemon's backends (or --backends) once. " +
			"--guests also lists each host's guests with their disks (source, where its links lead, " +
			"a block device's stable ids, read-only or shareable) and I/O counters; the JSON output " +
			"always has them, in each host's record. " +
			"Exit status: 0 when the backends could be read (errors of single backends are listed), " +
			"1 when they could not be opened, 2 on bad usage, or when there is neither --backends nor " +
			"a readable configuration in --state-dir.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "state-dir", Value: heartbeat.DefaultStateDir,
				Usage: "the local daemon's state directory (its configuration and observations)"},
			&cli.StringFlag{Name: "backends", Usage: "read these backends instead of the local daemon's"},
			&cli.StringFlag{Name: "ceph-conf", Usage: "with --backends: Ceph configuration file", Value: "/etc/ceph/ceph.conf"},
			&cli.StringFlag{Name: "ceph-user", Usage: "with --backends: cephx user", Value: "admin"},
			&cli.StringFlag{Name: "ceph-keyring", Usage: "with --backends: keyring file"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"},
			&cli.BoolFlag{Name: "guests", Usage: "list each host's guests, their disks and I/O counters"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "bound for the whole command"},
		},
		Action: status,
	}
}

// statusOutput is the JSON form.
type statusOutput struct {
	Local  *localView             `json:"local,omitempty"`
	Hosts  []heartbeat.HostReport `json:"hosts"`
	Errors []string               `json:"errors,omitempty"`
}

type localView struct {
	Node          string                   `json:"node"`
	Phase         string                   `json:"phase"`
	Healthy       bool                     `json:"healthy"`
	WatchdogArmed bool                     `json:"watchdog_armed"`
	StateAgeS     float64                  `json:"state_age_s"`
	Backends      []heartbeat.BackendState `json:"backends"`
}

func status(c *cli.Context) error {
	out := c.String("output")
	if out != "table" && out != "json" {
		return cli.Exit("--output must be table or json", exitUsage)
	}
	if c.NArg() > 0 {
		return cli.Exit("kvmha heartbeat status takes no arguments, only flags", exitUsage)
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	dir := c.String("state-dir")
	state, _ := heartbeat.ReadState(dir)
	var uris string
	cephCfg := ceph.Config{ConfPath: c.String("ceph-conf"), User: c.String("ceph-user"), Keyring: c.String("ceph-keyring")}
	files := service.CephFiles{Conf: cephCfg.ConfPath, ConfName: "--ceph-conf", Keyring: cephCfg.Keyring, KeyringName: "--ceph-keyring"}
	if c.IsSet("backends") {
		uris = c.String("backends")
	} else {
		cfg, err := heartbeat.ReadConfig(heartbeat.ConfigPathIn(dir))
		if err != nil {
			return cli.Exit(fmt.Sprintf("no heartbeat configured on this host (%v); give --backends", err), exitUsage)
		}
		uris = strings.Join(cfg.Backends, " ")
		cephCfg = ceph.Config{ConfPath: cfg.CephConf, User: cfg.CephUser, Keyring: cfg.CephKeyring}
		files = service.CephFiles{Conf: cfg.CephConf, ConfName: "the local configuration's ceph_conf",
			Keyring: cfg.CephKeyring, KeyringName: "the local configuration's ceph_keyring"}
	}
	specs, err := heartbeat.ParseBackends(uris)
	if err != nil {
		return cli.Exit("--backends: "+err.Error(), exitUsage)
	}
	if err := service.CheckCephFiles(ctx, specs, files); err != nil {
		return cli.Exit(err.Error(), exitUsage)
	}
	backends, err := heartbeat.OpenAll(ctx, specs, radosbackend.Opener(cephCfg, 5*time.Second))
	if err != nil {
		return err
	}
	defer func() {
		for _, b := range backends {
			b.Close()
		}
	}()
	now, wall := heartbeat.BootTime(), time.Now()
	reports, errs := heartbeat.Collect(ctx, backends, state, now, wall)
	res := statusOutput{Hosts: reports}
	for _, e := range errs {
		res.Errors = append(res.Errors, e.Error())
	}
	if state != nil {
		res.Local = &localView{Node: state.Node, Phase: state.Phase, Healthy: state.Healthy && state.Fresh(now),
			WatchdogArmed: state.WatchdogArmed, StateAgeS: state.Age(now).Seconds(), Backends: state.Backends}
	}
	w := c.App.Writer
	if out == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if err := heartbeat.WriteTable(w, reports); err != nil {
		return err
	}
	if c.Bool("guests") {
		fmt.Fprintln(w)
		if err := heartbeat.WriteGuests(w, reports); err != nil {
			return err
		}
	}
	if l := res.Local; l != nil {
		health := "healthy"
		if !l.Healthy {
			health = "NOT healthy"
		}
		fmt.Fprintf(w, "local daemon on %s: %s, %s, watchdog armed: %v (state %.1fs old)\n",
			l.Node, l.Phase, health, l.WatchdogArmed, l.StateAgeS)
	}
	for _, e := range res.Errors {
		fmt.Fprintln(w, "error:", e)
	}
	return nil
}
