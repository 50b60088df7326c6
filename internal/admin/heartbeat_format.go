package admin

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kvmha/kvmha/internal/heartbeat"
)

func formatCommand() *cli.Command {
	return &cli.Command{
		Name:      "format",
		Usage:     "write a fresh slot layout to a block backend (erases every slot)",
		ArgsUsage: "block:///dev/DEVICE",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "slots", Value: 64, Usage: fmt.Sprintf("number of host slots (1..%d)", heartbeat.MaxSlots)},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("usage: kvmha heartbeat format block:///dev/DEVICE [--slots N]", 2)
			}
			s, err := heartbeat.ParseBackend(c.Args().First())
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			if s.Scheme != heartbeat.SchemeBlock {
				return cli.Exit(fmt.Sprintf("%s is no block backend (block:///dev/DEVICE)", s), exitUsage)
			}
			if n := c.Int("slots"); n < 1 || n > heartbeat.MaxSlots {
				return cli.Exit(fmt.Sprintf("--slots %d not in 1..%d", n, heartbeat.MaxSlots), exitUsage)
			}
			if err := heartbeat.FormatDevice(s, c.Int("slots")); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s: %d slots, %d bytes\n", s, c.Int("slots"), heartbeat.DeviceSize(c.Int("slots")))
			return nil
		},
	}
}
