package fence

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStdin(t *testing.T) {
	set := richAgent(newFakeDevice()).optionSet()
	in := strings.Join([]string{
		"# written by pacemaker-fenced",
		"",
		"   ",
		"option=off",       // legacy alias of action
		"port=vm1",         // alias of plug
		"nodename=node1",   // kept
		"ipaddr=10.0.0.1",  // declared alias
		"login-timeout=7",  // '-' for '_'
		"ssl=1",            // boolean
		"passwd=\"a=b c\"", // quotes stripped, '=' in value
		"pcmk_host_list=node1 node2",
		"CRM_meta_timeout=20000",
		"unknown",
		"method=",        // empty: unset
		"  ipport = 99 ", // spaces around the key
		"debug=/tmp/x",   // old name of debug_file
		"verbose=1\r",    // CRLF
	}, "\n")
	p, err := parseStdin(set, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"action": "off", "plug": "vm1", "nodename": "node1", "ip": "10.0.0.1", "login_timeout": "7",
		"ssl": "1", "password": "a=b c", "ipport": " 99", "debug_file": "/tmp/x", "verbose": "1",
	}
	if !reflect.DeepEqual(p.raw, want) {
		t.Errorf("got  %v\nwant %v", p.raw, want)
	}
	var notes []string
	for _, n := range p.notes {
		notes = append(notes, n.msg)
	}
	all := strings.Join(notes, "\n")
	for _, s := range []string{`unknown parameter "pcmk_host_list"`, `unknown parameter "CRM_meta_timeout"`, "line 13 has no '='", "empty value for method"} {
		if !strings.Contains(all, s) {
			t.Errorf("notes lack %q:\n%s", s, all)
		}
	}
	if strings.Contains(all, "node2") {
		t.Error("values of unknown keys must not be logged")
	}
	v := newValues(set, p.raw)
	if v.Int("ipport") != 99 || !v.Bool("ssl") || v.Duration("login_timeout") != 7*time.Second || v.Get("method") != "onoff" {
		t.Errorf("typed getters: %d %v %s %s", v.Int("ipport"), v.Bool("ssl"), v.Duration("login_timeout"), v.Get("method"))
	}
	if v.IsSet("method") || !v.IsSet("ssl") {
		t.Error("IsSet")
	}
	if v.Get("nope") != "" || v.Int("ip") != 0 {
		t.Error("undeclared or unparsable values must be zero")
	}
}

func TestParseStdinLastWins(t *testing.T) {
	set := richAgent(newFakeDevice()).optionSet()
	p, _ := parseStdin(set, strings.NewReader("plug=a\nport=b\n"))
	if p.raw["plug"] != "b" {
		t.Errorf("got %q", p.raw["plug"])
	}
	p, _ = parseStdin(set, nil)
	if len(p.raw) != 0 {
		t.Error("nil reader")
	}
}

func TestParseArgs(t *testing.T) {
	set := richAgent(newFakeDevice()).optionSet()
	cases := []struct {
		args []string
		want map[string]string
		err  string
	}{
		{[]string{"-o", "off", "-n", "vm1"}, map[string]string{"action": "off", "plug": "vm1"}, ""},
		{[]string{"-ooff", "-nvm1"}, map[string]string{"action": "off", "plug": "vm1"}, ""},
		{[]string{"--action=off", "--port", "vm1"}, map[string]string{"action": "off", "plug": "vm1"}, ""},
		{[]string{"-vzoreboot"}, map[string]string{"verbose": "1", "ssl": "1", "action": "reboot"}, ""},
		{[]string{"-vv", "-D", "/tmp/d"}, map[string]string{"verbose": "1", "debug_file": "/tmp/d"}, ""},
		{[]string{"--power-t=5", "--stonith", "2"}, map[string]string{"power_timeout": "5", "stonith_status_sleep": "2"}, ""},
		{[]string{"--ip", "-a"}, map[string]string{"ip": "-a"}, ""}, // a value may start with '-'
		{[]string{"x", "-o", "on", "--", "-n", "vm1"}, map[string]string{"action": "on"}, ""},
		{[]string{"-"}, map[string]string{}, ""},
		{[]string{"--username=root", "--login-timeout=3"}, map[string]string{"username": "root", "login_timeout": "3"}, ""},
		{[]string{"--p=x"}, nil, "ambiguous"},
		{[]string{"--"}, map[string]string{}, ""},
		{[]string{"-x"}, nil, "option -x not recognized"},
		{[]string{"-\xff"}, nil, `option -\xff not recognized`},
		{[]string{"--nope"}, nil, "option --nope not recognized"},
		{[]string{"--="}, nil, "not recognized"},
		{[]string{"-n"}, nil, "option -n requires a value"},
		{[]string{"--plug"}, nil, "option --plug requires a value"},
		{[]string{"--ssl=1"}, nil, "option --ssl takes no value"},
		{[]string{"--help"}, map[string]string{"help": "1"}, ""},
	}
	for _, c := range cases {
		p, err := parseArgs(set, c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if !reflect.DeepEqual(p.raw, c.want) {
			t.Errorf("%q: got %v want %v", c.args, p.raw, c.want)
		}
	}
}

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"0": 0, "20": 20 * time.Second, "1.5": 1500 * time.Millisecond, " 3s ": 3 * time.Second} {
		if got, err := parseSeconds(in); err != nil || got != want {
			t.Errorf("%q: %s %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "NaN", "inf", "1e300", "abc", "5m"} {
		if _, err := parseSeconds(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestCheck(t *testing.T) {
	if err := richAgent(newFakeDevice()).Check(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(a *Agent){
		"not a valid program name":   func(a *Agent) { a.Name = "" },
		"no ShortDesc":               func(a *Agent) { a.ShortDesc = "" },
		"no Off func":                func(a *Agent) { a.Off = nil },
		"short flag -o clashes":      func(a *Agent) { a.Options[0].Short = 'o' },
		"option name \"plug\"":       func(a *Agent) { a.Options[0].Name = "plug" },
		"long flag --port clashes":   func(a *Agent) { a.Options[0].Long = "port" },
		"stdin key \"debug\"":        func(a *Agent) { a.Options[0].Aliases = []string{"debug"} },
		"must match":                 func(a *Agent) { a.Options[0].Name = "Bad-Name" },
		"default \"x\"":              func(a *Agent) { a.Options[1].Default = "x" },
		"choices need type String":   func(a *Agent) { a.Options[1].Choices = []string{"1"} },
		"has no Description":         func(a *Agent) { a.Options[0].Description = "" },
		"ASCII letter":               func(a *Agent) { a.Options[0].Short = 'é' },
		"unknown type":               func(a *Agent) { a.Options[0].Type = 9 },
		"unsupported action":         func(a *Agent) { a.Timeouts = map[string]time.Duration{"fly": time.Second} },
		"must be positive":           func(a *Agent) { a.Timeouts = map[string]time.Duration{"off": 0} },
		"cannot have a Reboot":       func(a *Agent) { a.Unfencing = true; a.Reboot = a.Off },
		"clashes with ip":            func(a *Agent) { a.Options[1].Name = "ip" },
		"short flag -C clashes with": func(a *Agent) { a.Options[0].Short = 'C' },
	}
	for want, mutate := range bad {
		a := richAgent(newFakeDevice())
		mutate(a)
		err := a.Check()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
	// Without a list action, -C is free.
	a := richAgent(newFakeDevice())
	a.List = nil
	a.Options[0].Short = 'C'
	if err := a.Check(); err != nil {
		t.Error(err)
	}
}
