// Package ocf is the OCF 1.1 resource-agent runtime every kvmha agent is
// built on. An agent is a value: its parameters (declared once, with types and
// defaults) and one handler per action. From that value the package derives
// meta-data XML valid for both ra-api-1.dtd and pcs' OCF 1.1 schema,
// validate-all, typed parameter access, Markdown docs, and the whole process
// contract with Pacemaker: argv dispatch, exit codes, the single
// ocf-exit-reason line, ocf_log-style logging, probe and stop conventions, and
// a deadline that ends the action before Pacemaker's timeout does.
//
// A complete agent:
//
//	var agent = ocf.Agent{
//		Name:      "kvm-guest",
//		Version:   "0.1.0",
//		ShortDesc: "Runs a KVM guest from a libvirt domain XML",
//		Params: []ocf.Param{
//			{Name: "config", Type: ocf.TypeString, Required: true, Unique: true,
//				ShortDesc: "Path of the domain XML"},
//			{Name: "force_stop", Type: ocf.TypeBoolean, Default: "false",
//				ShortDesc: "Destroy the guest instead of shutting it down"},
//		},
//		Timeouts: map[string]time.Duration{ocf.ActionStart: 90 * time.Second},
//		Start:    start, // func(ctx context.Context, req *ocf.Request) error
//		Stop:     stop,
//		Monitor:  monitor, // return ocf.Exit(ocf.NotRunning) when stopped
//	}
//
//	func main() { ocf.Run(&agent) }
//
// Handlers return nil for success, ocf.Errorf(code, ...) to choose an exit
// code with a reason, or any other error for OCF_ERR_GENERIC. They read
// parameters with req.String, req.Int and req.Bool (validated before the
// handler runs, defaults applied) and log with req.Log.Infof and friends.
// Agents should assert agent.Check() == nil in a unit test.
package ocf
