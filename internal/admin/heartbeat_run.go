package admin

import (
	"errors"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/kvmha/kvmha/internal/heartbeat"
	"github.com/kvmha/kvmha/internal/heartbeat/service"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the heartbeat daemon in the foreground (HostHeartbeat's start runs it detached)",
		Description: "Runs until SIGTERM or SIGINT, then writes a stopped record and disarms the watchdog. " +
			"Exit status: 0 after a clean stop, 1 when the daemon failed, 2 on bad usage or when the " +
			"configuration file (a regular file of at most 1 MiB, read within 5 s) or the Ceph files it " +
			"names cannot be read or are invalid.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Value: heartbeat.ConfigPathIn(heartbeat.DefaultStateDir),
				Usage: "configuration file, as HostHeartbeat writes it"},
			&cli.BoolFlag{Name: "syslog", Value: true, Usage: "also log to syslog"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("kvmha heartbeat run takes no arguments, only flags", exitUsage)
			}
			log := service.NewLog(c.App.ErrWriter, c.Bool("syslog"))
			defer log.Close()
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
			if err := service.Run(ctx, c.String("config"), log, c.App.ErrWriter); err != nil {
				log.Errorf("%v", err)
				var bad service.BadInputError
				if errors.As(err, &bad) {
					return cli.Exit("", exitUsage)
				}
				return cli.Exit("", 1)
			}
			return nil
		},
	}
}
