//go:build hostile

package hostile

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kvmha/kvmha/agents/fencekvmha"
	"github.com/kvmha/kvmha/agents/fencelibvirt"
	"github.com/kvmha/kvmha/agents/fencerbd"
	"github.com/kvmha/kvmha/agents/hostheartbeat"
	"github.com/kvmha/kvmha/agents/o2cb"
	"github.com/kvmha/kvmha/agents/rbd"
	"github.com/kvmha/kvmha/agents/virtualdomain"
	"github.com/kvmha/kvmha/internal/admin"
	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/ocf"
)

// The cases are generated from the agents' own declarations (ocf.Agent.Params,
// fence.Agent.Options, the kvmha command's flags): a parameter added to an agent is swept
// without touching this file. What is written here per binary is only its baseline: a
// configuration that passes validation in the sandbox, so that each hostile value is tried
// alone against otherwise good parameters.

// secretMarker is shaped like a cephx key (base64 of 28 bytes: "AQ", 36 characters, "==");
// it is the hostile value "key", as secret=KEY, and no output may contain it.
const secretMarker = "AQhostile1hostile2hostile3hostile4host=="

// hostileValue is one kind of bad input.
type hostileValue struct {
	kind  string
	value func(typ string) string // typ: "string", "integer", "boolean", "second"
}

var (
	fifoPath    = fixtureDir + "/fifo"
	dirPath     = fixtureDir + "/dir"
	missingPath = fixtureDir + "/missing/file"
)

func constant(v string) func(string) string { return func(string) string { return v } }

// hostileValues are the values every parameter gets, one at a time.
var hostileValues = []hostileValue{
	{"wrong-type", func(typ string) string {
		switch typ {
		case "integer", "second":
			return "abc"
		case "boolean":
			return "maybe"
		}
		return "-1"
	}},
	{"empty", constant("")},
	{"zero", constant("0")},
	{"too-large", constant("9999999999")},
	{"odd-name", constant("a b/c")},
	{"overflow", constant("99999999999999999999")},
	{"negative", constant("-9223372036854775808")},
	{"100kB", constant(strings.Repeat("x", 100<<10))},
	{"newline", constant("a\nb")},
	{"invalid-utf8", constant("\xff\xfe\xc3(")},
	{"dev-zero", constant("/dev/zero")},
	{"fifo", constant(fifoPath)},
	{"directory", constant(dirPath)},
	{"missing-path", constant(missingPath)},
	{"key", constant("secret=" + secretMarker)},
}

// fixtures are the files every invocation finds in the sandbox.
type fixtures struct {
	files map[string]string
	dirs  []string
	fifos []string
}

func commonFixtures() fixtures {
	return fixtures{
		files: map[string]string{
			fixtureDir + "/ceph.conf": "[global]\nmon_host = 127.0.0.1:6789\n",
			fixtureDir + "/keyring":   "[client.admin]\n\tkey = AQBr0x1kAAAAABAAhHZ1bJ6Px7s3S3IQpHaZ6w==\n",
			fixtureDir + "/vm.xml":    domainXML,
			fixtureDir + "/cluster.conf": "cluster:\n\tnode_count = 1\n\tname = ocfs2\n\n" +
				"node:\n\tip_port = 7777\n\tip_address = 10.0.0.1\n\tnumber = 1\n\tname = hostile\n\tcluster = ocfs2\n",
			fixtureDir + "/corosync.conf": "totem {\n version: 2\n cluster_name: ocfs2\n}\n" +
				"nodelist {\n node {\n  ring0_addr: 10.0.0.1\n  name: hostile\n  nodeid: 1\n }\n}\n",
			fixtureDir + "/cib.xml": "<cib><configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>\n",
		},
		dirs:  []string{dirPath, fixtureDir + "/shared", fixtureDir + "/state"},
		fifos: []string{fifoPath},
	}
}

const domainXML = `<domain type='kvm'>
  <name>hostile-vm</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='rbd' name='rbd/hostile'><host name='127.0.0.1' port='6789'/></source>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
`

// binary is one program under test with its baseline.
type binary struct {
	name string
	kind string // "ocf", "fence" or "command"
	ocf  *ocf.Agent
	// fenceAgent is set for fence agents.
	fenceAgent *fence.Agent
	// baseline parameters (OCF_RESKEY_ names, or fence options).
	baseline map[string]string
}

func binaries(binDir string) []binary {
	return []binary{
		{name: "VirtualDomain", kind: "ocf", ocf: virtualdomain.New(nil),
			baseline: map[string]string{"config": fixtureDir + "/vm.xml"}},
		{name: "rbd", kind: "ocf", ocf: rbd.New(nil),
			baseline: map[string]string{"name": "hostile", "pool": "rbd", "cephconf": fixtureDir + "/ceph.conf"}},
		{name: "o2cb", kind: "ocf", ocf: o2cb.New(),
			baseline: map[string]string{"cluster_conf": fixtureDir + "/cluster.conf", "corosync_conf": fixtureDir + "/corosync.conf"}},
		{name: "HostHeartbeat", kind: "ocf", ocf: hostheartbeat.New(),
			baseline: map[string]string{"backends": "file://" + fixtureDir + "/shared", "watchdog_device": "file:" + fixtureDir + "/wd",
				"self_fence": "exec:/bin/true", "state_dir": fixtureDir + "/state", "ceph_conf": fixtureDir + "/ceph.conf",
				"kvmha_binary": filepath.Join(binDir, "kvmha")}},
		{name: "fence_rbd", kind: "fence", fenceAgent: fencerbd.New(),
			baseline: map[string]string{"plug": "node1", "hosts": "node1=10.0.0.1", "ceph_conf": fixtureDir + "/ceph.conf",
				"ceph_keyring": fixtureDir + "/keyring", "power_timeout": "2"}},
		{name: "fence_libvirt", kind: "fence", fenceAgent: fencelibvirt.New(),
			baseline: map[string]string{"plug": "hostile-vm", "uri": "qemu+tcp://127.0.0.1/system", "power_timeout": "2"}},
		{name: "fence_kvmha", kind: "fence", fenceAgent: fencekvmha.New(),
			baseline: map[string]string{"plug": "node1", "backends": "file://" + fixtureDir + "/shared",
				"state_dir": fixtureDir + "/state", "power_timeout": "2"}},
	}
}

// testCase is one invocation and what it must show.
type testCase struct {
	binary string
	action string // OCF action ("monitor-probe", "monitor-recurring"), fence action, or command path
	param  string // the parameter given a hostile value ("" for the baseline)
	kind   string // the hostile value's kind
	value  string
	// secret: the value must never be printed.
	secret bool
	// mustBe is the exit code the rules demand, or -1.
	mustBe int
	// deadline is when the action must have ended (its budget), limit when it is killed.
	deadline time.Duration
	inv      invocation
	// daemon: a command that runs until stopped (kvmha heartbeat run with a good config).
	daemon bool
}

func (c testCase) String() string {
	if c.param == "" && c.kind == "" {
		return fmt.Sprintf("%s %s (baseline)", c.binary, c.action)
	}
	if c.param == "" {
		return fmt.Sprintf("%s %s <%s>", c.binary, c.action, c.kind)
	}
	return fmt.Sprintf("%s %s %s=<%s>", c.binary, c.action, c.param, c.kind)
}

// ocfTimeout is the CRM_meta_timeout every OCF case runs with: short, so a hang shows fast.
const ocfTimeout = 4 * time.Second

// slack covers process start and a busy machine past an action's own deadline.
const slack = 4 * time.Second

func ocfActions(a *ocf.Agent) []string {
	acts := []string{"start", "stop", "monitor-probe", "monitor-recurring", "validate-all"}
	for name, h := range map[string]ocf.Handler{"migrate_to": a.MigrateTo, "migrate_from": a.MigrateFrom,
		"promote": a.Promote, "demote": a.Demote, "notify": a.Notify, "reload": a.Reload} {
		if h != nil {
			acts = append(acts, name)
		}
	}
	slices.Sort(acts[5:])
	return acts
}

func paramType(p ocf.Param) string { return p.Type.String() }

// ocfCases: every action × (the baseline, and every parameter × every hostile value).
func ocfCases(b binary, binDir string, fx fixtures) []testCase {
	var out []testCase
	for _, action := range ocfActions(b.ocf) {
		out = append(out, ocfCase(b, binDir, fx, action, "", "", "", false))
		for _, p := range b.ocf.Params {
			for _, hv := range hostileValues {
				out = append(out, ocfCase(b, binDir, fx, action, p.Name, hv.kind, hv.value(paramType(p)), p.Secret))
			}
		}
	}
	return out
}

func ocfCase(b binary, binDir string, fx fixtures, action, param, kind, value string, secret bool) testCase {
	params := maps.Clone(b.baseline)
	if param != "" {
		params[param] = value
	}
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HA_RSCTMP=/run/resource-agents", "OCF_ROOT=/usr/lib/ocf",
		"OCF_RESOURCE_INSTANCE=hostile", "OCF_RESOURCE_TYPE=" + b.name,
		fmt.Sprintf("OCF_RESKEY_CRM_meta_timeout=%d", ocfTimeout.Milliseconds())}
	verb := action
	mustBe := -1
	switch action {
	case "monitor-probe":
		verb = "monitor"
		env = append(env, "OCF_RESKEY_CRM_meta_interval=0")
	case "monitor-recurring":
		verb = "monitor"
		env = append(env, "OCF_RESKEY_CRM_meta_interval=10000")
	case "migrate_to":
		env = append(env, "OCF_RESKEY_CRM_meta_migrate_target=node2", "OCF_RESKEY_CRM_meta_migrate_source=node1")
	case "migrate_from":
		env = append(env, "OCF_RESKEY_CRM_meta_migrate_target=node1", "OCF_RESKEY_CRM_meta_migrate_source=node2")
	case "stop":
		// Nothing was ever started in the sandbox (HA_RSCTMP is empty): stop must succeed.
		mustBe = 0
	}
	for k, v := range params {
		env = append(env, "OCF_RESKEY_"+k+"="+v)
	}
	return testCase{binary: b.name, action: action, param: param, kind: kind, value: value, secret: secret,
		mustBe: mustBe, deadline: ocfTimeout,
		inv: invocation{Argv: []string{filepath.Join(binDir, b.name), verb}, Env: env, Limit: ocfTimeout + slack,
			Files: fx.files, Dirs: fx.dirs, FIFOs: fx.fifos}}
}

// fenceTimeout bounds every fence case: the baseline's power_timeout=2 gives off and on
// 2×2 s, reboot twice that; a hostile power_timeout or delay must be refused, not obeyed.
const fenceTimeout = 10 * time.Second

// fenceActions lists the agent's actions as the runtime offers them (metadata aside).
func fenceActions(a *fence.Agent) []string {
	acts := []string{"off", "monitor", "validate-all"}
	if a.On != nil {
		acts = append(acts, "on")
	}
	if !a.Unfencing && (a.Reboot != nil || a.On != nil) {
		acts = append(acts, "reboot")
	}
	if a.Status != nil {
		acts = append(acts, "status")
	}
	if a.List != nil {
		acts = append(acts, "list", "list-status")
	}
	return acts
}

func fenceType(o fence.Option) string { return o.Type.String() }

// genericFenceOptions are the runtime's own options every agent takes (fence.Option form,
// for their types); the agent's declaration lists only its own.
var genericFenceOptions = []fence.Option{
	{Name: "plug", Type: fence.String}, {Name: "delay", Type: fence.Second},
	{Name: "power_timeout", Type: fence.Second}, {Name: "power_wait", Type: fence.Second},
	{Name: "stonith_status_sleep", Type: fence.Second}, {Name: "debug_file", Type: fence.String},
	{Name: "separator", Type: fence.String}, {Name: "nodename", Type: fence.String},
	{Name: "verbose", Type: fence.Boolean}, {Name: "quiet", Type: fence.Boolean},
}

// fenceCases: every action × (baseline, every option × every hostile value) on stdin, as
// pacemaker-fenced passes them; the baseline once more with a stdin that is never closed.
func fenceCases(b binary, binDir string, fx fixtures) []testCase {
	var out []testCase
	opts := append(slices.Clone(b.fenceAgent.Options), genericFenceOptions...)
	for _, action := range fenceActions(b.fenceAgent) {
		out = append(out, fenceCase(b, binDir, fx, action, "", "", "", false, false))
		c := fenceCase(b, binDir, fx, action, "", "stdin-never-closed", "", false, true)
		out = append(out, c)
		for _, o := range opts {
			for _, hv := range hostileValues {
				if strings.Contains(hv.value(fenceType(o)), "\n") {
					// A newline inside a stdin value starts the next key=value line; the
					// parser's handling of that is covered by its fuzz target.
					continue
				}
				if hv.kind == "empty" && o.Type == fence.Second {
					// An empty value means the default, which for power_timeout is 20 s:
					// the baseline's short budget would not apply.
					continue
				}
				out = append(out, fenceCase(b, binDir, fx, action, o.Name, hv.kind, hv.value(fenceType(o)), o.Secret, false))
			}
		}
	}
	return out
}

func fenceCase(b binary, binDir string, fx fixtures, action, option, kind, value string, secret, stdinOpen bool) testCase {
	opts := maps.Clone(b.baseline)
	opts["action"] = action
	if option != "" {
		opts[option] = value
	}
	var stdin strings.Builder
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		fmt.Fprintf(&stdin, "%s=%s\n", k, opts[k])
	}
	return testCase{binary: b.name, action: action, param: option, kind: kind, value: value, secret: secret,
		mustBe: -1, deadline: fenceTimeout,
		inv: invocation{Argv: []string{filepath.Join(binDir, b.name)}, Stdin: stdin.String(), StdinOpen: stdinOpen,
			Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, Limit: fenceTimeout + slack,
			Files: fx.files, Dirs: fx.dirs, FIFOs: fx.fifos}}
}

// commandTimeout bounds the kvmha command's cases; each subcommand's own --timeout is
// lowered below it in the baseline.
const commandTimeout = 8 * time.Second

// commandBaselines are the subcommands swept and the arguments they get besides the
// hostile flag. Every flag of each subcommand is taken from the command's declaration.
var commandBaselines = map[string][]string{
	"heartbeat run":    {"--config", fixtureDir + "/missing.conf"},
	"heartbeat status": {"--state-dir", fixtureDir + "/state", "--timeout", "2s"},
	"heartbeat format": {fixtureDir + "/shared/disk"},
	"doctor":           {"--ceph-conf", fixtureDir + "/ceph.conf", "--timeout", "2s"},
	"capacity":         {"--cib", fixtureDir + "/cib.xml", "--timeout", "2s"},
}

func commandCases(binDir string, fx fixtures) []testCase {
	var out []testCase
	app := admin.App()
	add := func(path string, args []string, flag, kind, value string, stdinOpen bool) {
		out = append(out, testCase{binary: "kvmha", action: path, param: flag, kind: kind, value: value,
			mustBe: -1, deadline: commandTimeout,
			inv: invocation{Argv: append([]string{filepath.Join(binDir, "kvmha")}, args...), StdinOpen: stdinOpen,
				Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, Limit: commandTimeout + slack,
				Files: fx.files, Dirs: fx.dirs, FIFOs: fx.fifos}})
	}
	for _, path := range slices.Sorted(maps.Keys(commandBaselines)) {
		cmd := findCommand(app.Commands, strings.Fields(path))
		if cmd == nil {
			panic("kvmha has no subcommand " + path)
		}
		base := commandBaselines[path]
		words := strings.Fields(path)
		add(path, append(slices.Clone(words), base...), "", "", "", false)
		for _, f := range cmd.Flags {
			name := f.Names()[0]
			typ := "string"
			switch f.(type) {
			case *cli.BoolFlag:
				// A boolean flag takes no value on the command line: give it one as --flag=value.
				typ = "boolean"
			case *cli.IntFlag, *cli.DurationFlag:
				typ = "integer"
			}
			for _, hv := range hostileValues {
				args := slices.Clone(words)
				args = append(args, withoutFlag(base, name)...)
				args = append(args, "--"+name+"="+hv.value(typ))
				add(path, args, name, hv.kind, hv.value(typ), false)
			}
		}
		// Unknown flags and positional junk are usage errors: exit 2.
		out = append(out, testCase{binary: "kvmha", action: path, param: "--nosuch", kind: "unknown-flag",
			mustBe: 2, deadline: commandTimeout,
			inv: invocation{Argv: append([]string{filepath.Join(binDir, "kvmha")}, append(slices.Clone(words), "--nosuch")...),
				Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, Limit: commandTimeout + slack,
				Files: fx.files, Dirs: fx.dirs, FIFOs: fx.fifos}})
	}
	// A saved CIB read from a stdin that never ends.
	add("capacity", []string{"capacity", "--cib", "-", "--timeout", "2s"}, "cib", "stdin-never-closed", "-", true)
	return out
}

func findCommand(cmds []*cli.Command, path []string) *cli.Command {
	for _, c := range cmds {
		if c.Name != path[0] {
			continue
		}
		if len(path) == 1 {
			return c
		}
		return findCommand(c.Subcommands, path[1:])
	}
	return nil
}

// withoutFlag drops --name and its value from a baseline argument list.
func withoutFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--"+name {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}
