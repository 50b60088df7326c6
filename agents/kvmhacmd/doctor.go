package kvmhacmd

import "github.com/urfave/cli/v2"

// doctorCommand is `kvmha doctor`: the host's preflight checks.
func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:   "doctor",
		Usage:  "check this host's libvirt, qemu, Ceph, kernel and cluster setup and say how to fix what is wrong",
		Action: func(*cli.Context) error { return cli.Exit("not implemented yet", 1) },
	}
}
