package admin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kvmha/kvmha/internal/capacity"
)

// Exit codes of kvmha capacity, for monitoring (0: every single node loss
// is survivable).
const (
	capacityShort = 1 // some node's loss leaves guests without room
	capacityError = 2 // bad usage, or the CIB could not be read
)

// capacityCommand is `kvmha capacity`: can the cluster lose any one node?
func capacityCommand() *cli.Command {
	return &cli.Command{
		Name:  "capacity",
		Usage: "say, for the loss of each node, whether the others have room for its guests",
		Description: "Reads the nodes' capacities and the guests' needs - the utilization attributes " +
			"cpu, hv_memory and host_memory (MiB) that ocf:kvmha:VirtualDomain maintains on its resources, " +
			"and that the operator sets on the nodes (crm_attribute -z, pcs node utilization); any other " +
			"attribute counts too - and where each guest runs. For the loss of each online node it places " +
			"that node's guests on the other online nodes the way Pacemaker does with a placement-strategy " +
			"other than default: a guest fits a node only if the node's remaining capacity covers every " +
			"attribute the guest asks for, and an attribute the node does not define counts as 0. " +
			"A group moves as one; a clone instance moves only when the clone may run another instance.\n\n" +
			"The placement is a first-fit-decreasing heuristic: the largest guest first (memory, then cpu), " +
			"each onto the node with room and the most free capacity (Pacemaker's balanced comparison); " +
			"the survivors' own guests stay where they are, as resource-stickiness keeps them. " +
			"Location constraints with -INFINITY scores (bans, pcs resource ban) are honoured, and so is " +
			"symmetric-cluster=false; scores, stickiness, colocation and ordering constraints, rules and " +
			"priorities are ignored, so Pacemaker may choose other nodes.\n\n" +
			"Each loss is OK or SHORT. For a SHORT one the report names the guests that find no room and the " +
			"shortfall: per attribute, what those guests ask for minus the free capacity left on the " +
			"survivors, floored at 0 (0 everywhere when the room exists only split across nodes). It also " +
			"shows every node's current load. A warning says when placement-strategy is default: Pacemaker " +
			"then ignores utilization and may overload hosts.\n\n" +
			"Without --cib it reads the live cluster with one cibadmin --query (configuration) and one " +
			"crm_mon --output-as=xml (node states and placement, as the scheduler sees them). With --cib it " +
			"reads a saved CIB (a regular file of at most 512 MiB, or stdin closed within --timeout) and takes placement from its status section (operation history).\n\n" +
			"Exit status: 0 when the cluster can lose any one node, 1 when some loss is SHORT, 2 on bad " +
			"usage or when the CIB cannot be read or parsed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cib", Usage: "read this saved CIB (cibadmin --query > FILE; - for stdin) instead of the live cluster"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "bound for reading the live cluster, or the saved CIB"},
		},
		Action: capacityAction,
	}
}

func capacityAction(c *cli.Context) error {
	out := c.String("output")
	if out != "table" && out != "json" {
		return cli.Exit("--output must be table or json", capacityError)
	}
	if c.NArg() > 0 {
		return cli.Exit("kvmha capacity takes no arguments (did you mean --cib "+c.Args().First()+"?)", capacityError)
	}
	var cluster *capacity.Cluster
	var err error
	if c.IsSet("cib") {
		ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
		defer cancel()
		cluster, err = readCIBFile(ctx, c.String("cib"), c.App.Reader)
	} else {
		cluster, err = readLiveCluster(c.Context, c.Duration("timeout"))
	}
	if err != nil {
		return cli.Exit(err.Error(), capacityError)
	}
	rep := capacity.Plan(cluster)
	w := c.App.Writer
	if out == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteTable(w)
	}
	if err != nil {
		return cli.Exit(err.Error(), capacityError)
	}
	if !rep.Survivable {
		return cli.Exit("", capacityShort)
	}
	return nil
}
