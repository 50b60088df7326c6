package kvmhacmd

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
				return err
			}
			if err := heartbeat.FormatDevice(s, c.Int("slots")); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s: %d slots, %d bytes\n", s, c.Int("slots"), heartbeat.DeviceSize(c.Int("slots")))
			return nil
		},
	}
}
