package manpage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/fence"
	"github.com/kvmha/kvmha/internal/ocf"
	"github.com/urfave/cli/v2"
)

func testAgent() *ocf.Agent {
	return &ocf.Agent{
		Name:      "Thing",
		Version:   "1.2",
		ShortDesc: "Runs a thing",
		LongDesc:  "First paragraph.\n\n.Second paragraph starts with a dot - and has a hyphen\\backslash \u2014 and a dash.",
		Params: []ocf.Param{
			{Name: "path", Type: ocf.TypeString, Required: true, Unique: true, ShortDesc: "Path"},
			{Name: "mode", Type: ocf.TypeString, Default: "fast", Choices: []string{"fast", "slow"},
				ShortDesc: "Mode", LongDesc: "How to run."},
			{Name: "key", Type: ocf.TypeString, Secret: true, ShortDesc: "Key"},
		},
		Timeouts: map[string]time.Duration{ocf.ActionStart: 90 * time.Second},
		Monitors: []ocf.MonitorOp{{Interval: 10 * time.Second}, {Interval: 61 * time.Second, Depth: 10}},
		Start:    func(context.Context, *ocf.Request) error { return nil },
		Stop:     func(context.Context, *ocf.Request) error { return nil },
		Monitor:  func(context.Context, *ocf.Request) error { return nil },
	}
}

func TestOCFPage(t *testing.T) {
	src, err := OCF(testAgent().Doc(), OCFExtras{
		Examples: []Example{{Title: "One.", ID: "t1", Params: []KV{{"path", "/a b"}}, Clone: true}},
		Migration: []Migration{{From: "ocf:heartbeat:Thing", FromParams: []string{"path"}, ID: "t1",
			Intro: "Same.", Differences: []KV{{"mode", "New."}, {"Speed", "Faster."}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	for _, want := range []string{
		`.TH "OCF_KVMHA_THING" 7 "" "kvmha" "OCF resource agents"`,
		"ocf_kvmha_Thing \\- Runs a thing\n",
		"\\&.Second paragraph starts with a dot \\- and has a hyphen\\ebackslash \\[u2014] and a dash.",
		"\\fBpath\\fR (string, required, unique)",
		"\\fBmode\\fR (string, default fast)",
		"Allowed values: fast, slow.",
		"A secret: its value is never logged.",
		"pcs resource create t1 ocf:kvmha:Thing \\e\n    path='/a b' \\e\n",
		"    op monitor interval=61s timeout=20s OCF_CHECK_LEVEL=10 \\e\n    clone interleave=true\n",
		"crm configure clone t1\\-clone t1 meta interleave=true",
		`.SH "MIGRATION FROM OCF:HEARTBEAT:THING"`,
		"does not have (see PARAMETERS): mode, key.",
		`provider="heartbeat"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q:\n%s", want, s)
		}
	}
}

func TestOCFRefusesUndeclared(t *testing.T) {
	d := testAgent().Doc()
	if _, err := OCF(d, OCFExtras{Examples: []Example{{ID: "x", Params: []KV{{"nope", "1"}}}}}); err == nil ||
		!strings.Contains(err.Error(), "nope") {
		t.Errorf("example with an undeclared parameter: %v", err)
	}
	if _, err := OCF(d, OCFExtras{Migration: []Migration{{From: "a:b:c", ID: "x", FromParams: []string{"gone"}}}}); err == nil {
		t.Error("migration from an agent with a parameter this one lacks: no error")
	}
	if _, err := OCF(d, OCFExtras{Migration: []Migration{{From: "a:b:c", ID: "x", Differences: []KV{{"gone", "x"}}}}}); err == nil {
		t.Error("note on an undeclared parameter: no error")
	}
}

func testFence() *fence.Agent {
	return &fence.Agent{
		Name: "fence_thing", ShortDesc: "Fences things", LongDesc: "Long.", Version: "0.1",
		Options: []fence.Option{{Name: "uri", Type: fence.String, Description: "Where", Placeholder: "uri"}},
		Off:     func(context.Context, *fence.Request) error { return nil },
	}
}

func TestFencePage(t *testing.T) {
	src, err := Fence(testFence().Doc(), FenceExtras{Examples: []Example{{
		Title: "One.", ID: "f1", Params: []KV{{"uri", "qemu:///system"}, {"pcmk_host_list", "n1 n2"}},
		Ops: []Op{{Name: "monitor", Interval: "60s"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	for _, want := range []string{
		`.TH "FENCE_THING" 8 "" "kvmha" "Fence agents"`,
		"\\fB\\-\\-uri=[uri]\\fR\nWhere.\n.br\nOn stdin: \\fBuri\\fR\n",
		"pcs stonith create f1 fence_thing \\e\n    uri=qemu:///system pcmk_host_list='n1 n2' \\e\n",
		"crm configure primitive f1 stonith:fence_thing \\e\n    params uri=qemu:///system",
		"the agent runs reboot.",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q:\n%s", want, s)
		}
	}
	if _, err := Fence(testFence().Doc(), FenceExtras{Examples: []Example{{ID: "f", Params: []KV{{"nope", "1"}}}}}); err == nil {
		t.Error("example with an undeclared option: no error")
	}
}

func TestCommandPage(t *testing.T) {
	app := &cli.App{Name: "tool", Usage: "do things", Version: "1",
		Commands: []*cli.Command{{Name: "sub", Usage: "a sub", Subcommands: []*cli.Command{{
			Name: "leaf", Usage: "a leaf", ArgsUsage: "FILE",
			Flags: []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"}},
		}}}}}
	src, err := Command(app, CommandExtras{Examples: []CommandExample{{Title: "x", Lines: []string{"tool sub leaf --output json"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`.SS "tool sub leaf"`, "\\fB\\-\\-output\\fR \\fIvalue\\fR, \\fB\\-o\\fR \\fIvalue\\fR",
		"Table or json. Default: \"table\".", "Do things."} {
		if !strings.Contains(string(src), want) {
			t.Errorf("page lacks %q:\n%s", want, src)
		}
	}
	for _, bad := range []string{"tool sub leaf --nope", "tool nope"} {
		if _, err := Command(app, CommandExtras{Examples: []CommandExample{{Lines: []string{bad}}}}); err == nil {
			t.Errorf("example %q: no error", bad)
		}
	}
}

func TestExampleCommands(t *testing.T) {
	e := Example{ID: "r", Params: []KV{{"a", "1"}, {"b", "x;y"}}, Meta: []KV{{"m", "2"}},
		Ops: []Op{{Name: "monitor", Interval: "10s", Timeout: "20s", Depth: 10}}, Clone: true}
	pcs, crm := e.Commands("ocf", "ocf:kvmha:T")
	if len(pcs) != 1 || pcs[0] != "pcs resource create r ocf:kvmha:T a=1 b='x;y' meta m=2 op monitor interval=10s timeout=20s OCF_CHECK_LEVEL=10 clone interleave=true" {
		t.Errorf("pcs: %q", pcs)
	}
	if len(crm) != 2 || crm[0] != "crm configure primitive r ocf:kvmha:T params a=1 b='x;y' meta m=2 op monitor interval=10s timeout=20s OCF_CHECK_LEVEL=10" ||
		crm[1] != "crm configure clone r-clone r meta interleave=true" {
		t.Errorf("crm: %q", crm)
	}
}
