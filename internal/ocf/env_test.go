package ocf

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseEnvSplitsParamsAndMeta(t *testing.T) {
	env := ParseEnv([]string{
		"OCF_RESKEY_config=/etc/vm.xml",
		"OCF_RESKEY_config=/second/ignored", // first wins, like os.Getenv
		"OCF_RESKEY_empty=",
		"OCF_RESKEY_with_equals=a=b",
		"OCF_RESKEY_CRM_meta_migrate_target=node2",
		"OCF_RESKEY_CRM_meta_timeout=20000",
		"OCF_RESKEY_=nameless",
		"OCF_RESKEY_CRM_meta_=nameless",
		"no-equals-sign",
		"=no-key",
		"PATH=/usr/bin",
		"OCF_RESOURCE_INSTANCE=vm1",
		"OCF_RESOURCE_TYPE=kvm-guest",
	})
	wantParams := map[string]string{"config": "/etc/vm.xml", "empty": "", "with_equals": "a=b"}
	if !reflect.DeepEqual(env.Params, wantParams) {
		t.Errorf("Params = %v", env.Params)
	}
	wantMeta := map[string]string{"migrate_target": "node2", "timeout": "20000"}
	if !reflect.DeepEqual(env.Meta, wantMeta) {
		t.Errorf("Meta = %v", env.Meta)
	}
	if env.ResourceInstance != "vm1" || env.ResourceType != "kvm-guest" || env.Timeout != 20*time.Second {
		t.Errorf("got %+v", env)
	}
	if len(env.Warnings) != 0 {
		t.Errorf("unexpected warnings %q", env.Warnings)
	}
}

func TestParseEnvTimeout(t *testing.T) {
	for raw, want := range map[string]time.Duration{
		"": 0, "20000": 20 * time.Second, " 1500 ": 1500 * time.Millisecond,
		"0": 0, "-5": 0, "20s": 0, "99999999999999999999": 0, "9223372036854775807": 0,
	} {
		env := ParseEnv([]string{"OCF_RESKEY_CRM_meta_timeout=" + raw})
		if env.Timeout != want {
			t.Errorf("timeout %q -> %v, want %v", raw, env.Timeout, want)
		}
		if bad := want == 0 && raw != ""; bad != (len(env.Warnings) == 1) {
			t.Errorf("timeout %q: warnings %q", raw, env.Warnings)
		}
	}
}

func TestProbeDetection(t *testing.T) {
	cases := []struct {
		env    []string
		action string
		probe  bool
	}{
		{nil, ActionMonitor, true}, // interval absent
		{[]string{"OCF_RESKEY_CRM_meta_interval="}, ActionMonitor, true},
		{[]string{"OCF_RESKEY_CRM_meta_interval=0"}, ActionMonitor, true},
		{[]string{"OCF_RESKEY_CRM_meta_interval=0"}, ActionStatus, true},
		{[]string{"OCF_RESKEY_CRM_meta_interval=10000"}, ActionMonitor, false},
		{[]string{"OCF_RESKEY_CRM_meta_interval=soon"}, ActionMonitor, false}, // garbage: not assumed probe
		{[]string{"OCF_RESKEY_CRM_meta_interval=-1"}, ActionMonitor, false},
		{[]string{"OCF_RESKEY_CRM_meta_interval=0"}, ActionStart, false},
		{nil, ActionStop, false},
	}
	for _, c := range cases {
		req := &Request{action: c.action, env: ParseEnv(c.env), agent: minimalAgent()}
		if req.IsProbe() != c.probe {
			t.Errorf("%s %v: IsProbe %v, want %v", c.action, c.env, req.IsProbe(), c.probe)
		}
	}
	if got := ParseEnv([]string{"OCF_RESKEY_CRM_meta_interval=10000"}).Interval; got != 10*time.Second {
		t.Errorf("interval %v", got)
	}
}

func TestCheckLevel(t *testing.T) {
	cases := []struct {
		env   []string
		level int
		warn  bool
	}{
		{nil, 0, false},
		{[]string{"OCF_CHECK_LEVEL=0"}, 0, false},
		{[]string{"OCF_CHECK_LEVEL=10"}, 10, false},
		{[]string{"OCF_CHECK_LEVEL=20"}, 20, false},
		{[]string{"OCF_CHECK_LEVEL=15"}, 10, false}, // next lower supported level
		{[]string{"OCF_CHECK_LEVEL=9"}, 0, false},
		{[]string{"OCF_CHECK_LEVEL=100"}, 20, false},
		{[]string{"OCF_CHECK_LEVEL=-10"}, 0, true},
		{[]string{"OCF_CHECK_LEVEL=deep"}, 0, true},
		{[]string{"OCF_RESKEY_OCF_CHECK_LEVEL=10"}, 10, false},
		{[]string{"OCF_CHECK_LEVEL=20", "OCF_RESKEY_OCF_CHECK_LEVEL=10"}, 20, false},
		{[]string{"OCF_CHECK_LEVEL=", "OCF_RESKEY_OCF_CHECK_LEVEL=10"}, 10, false},
	}
	for _, c := range cases {
		env := ParseEnv(c.env)
		if env.CheckLevel != c.level || (len(env.Warnings) > 0) != c.warn {
			t.Errorf("%v: level %d warnings %q, want %d warn=%v", c.env, env.CheckLevel, env.Warnings, c.level, c.warn)
		}
	}
}

func TestLoggingVariables(t *testing.T) {
	env := ParseEnv([]string{"HA_LOGFACILITY=local3", "HA_LOGFILE=/var/log/a", "HA_DEBUGLOG=/var/log/b", "HA_LOGTAG=tag"})
	if env.LogFacility != "local3" || env.LogFile != "/var/log/a" || env.DebugLog != "/var/log/b" || env.LogTag != "tag" {
		t.Errorf("%+v", env)
	}
	for _, c := range []struct {
		env          []string
		debug, trace bool
	}{
		{nil, false, false},
		{[]string{"HA_debug=0"}, false, false},
		{[]string{"HA_debug=no"}, false, false},
		{[]string{"HA_debug=1"}, true, false},
		{[]string{"HA_debug=yes"}, true, false},
		{[]string{"HA_debug=2"}, true, false}, // ocf-shellfuncs: anything but "" and "0"
		{[]string{"OCF_TRACE_RA=1"}, true, true},
		{[]string{"OCF_TRACE_RA=0"}, false, false},
		{[]string{"OCF_RESKEY_trace_ra=true"}, true, true},
	} {
		env := ParseEnv(c.env)
		if env.Debug != c.debug || env.Trace != c.trace {
			t.Errorf("%v: debug %v trace %v", c.env, env.Debug, env.Trace)
		}
	}
}

func TestParseEnvWarningsAreDeterministic(t *testing.T) {
	env := []string{"OCF_RESKEY_CRM_meta_timeout=x", "OCF_RESKEY_CRM_meta_interval=y", "OCF_CHECK_LEVEL=z"}
	first := strings.Join(ParseEnv(env).Warnings, "|")
	for i := 0; i < 20; i++ {
		if got := strings.Join(ParseEnv(env).Warnings, "|"); got != first {
			t.Fatalf("warning order changed: %q vs %q", got, first)
		}
	}
	if n := len(ParseEnv(env).Warnings); n != 3 {
		t.Errorf("want 3 warnings, got %d", n)
	}
}
