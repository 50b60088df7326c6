package kvmhacmd

import "github.com/urfave/cli/v2"

// capacityCommand is `kvmha capacity`: can the cluster lose any one node?
func capacityCommand() *cli.Command {
	return &cli.Command{
		Name:   "capacity",
		Usage:  "say, for the loss of each node, whether the others have room for its guests",
		Action: func(*cli.Context) error { return cli.Exit("not implemented yet", 1) },
	}
}
