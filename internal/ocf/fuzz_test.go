package ocf

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seeds run as ordinary tests under `go test`; `go test -fuzz=FuzzX` explores.

func FuzzParseEnv(f *testing.F) {
	for _, seed := range []string{
		"",
		"OCF_RESKEY_a=1\x00OCF_RESKEY_CRM_meta_timeout=20000\x00OCF_RESKEY_CRM_meta_interval=0",
		"OCF_CHECK_LEVEL=-99999999999999999999\x00OCF_RESKEY_OCF_CHECK_LEVEL=10",
		"OCF_RESKEY_CRM_meta_timeout=9223372036854775807\x00OCF_RESKEY_CRM_meta_interval=-1",
		"=\x00==\x00OCF_RESKEY_=\x00OCF_RESKEY_CRM_meta_=x\x00HA_debug=\xff",
		"HA_LOGFACILITY=local9\x00HA_LOGTAG=\n\x00OCF_TRACE_RA=on",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, blob string) {
		env := ParseEnv(strings.Split(blob, "\x00"))
		if env.Timeout < 0 || env.Interval < 0 {
			t.Fatalf("negative duration: %v %v", env.Timeout, env.Interval)
		}
		if l := env.CheckLevel; l != 0 && l != 10 && l != 20 {
			t.Fatalf("check level %d", l)
		}
		for name := range env.Params {
			if name == "" || strings.HasPrefix(name, "CRM_meta_") {
				t.Fatalf("bad param name %q", name)
			}
		}
		req := &Request{action: ActionMonitor, env: env, agent: minimalAgent()}
		_ = req.IsProbe()
		_ = req.Meta(blob)
		if budget := minimalAgent().budgetFor(ActionStart, env); budget <= 0 {
			t.Fatalf("budget %v", budget)
		}
	})
}

// FuzzValidateParams feeds arbitrary values to every parameter type and checks
// that validation and the typed accessors agree.
func FuzzValidateParams(f *testing.F) {
	for _, seed := range [][3]string{
		{"1", "true", "vm"}, {"", "", ""}, {"x", "maybe", ""}, {" -0 ", "Y", "a\nb"},
		{"99999999999999999999", "On", "\xff"}, {"+", "oN", "ocf-exit-reason:"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, count, enabled, name string) {
		a := minimalAgent()
		values := map[string]string{"count": count, "enabled": enabled, "name": name}
		problems := validateParams(a.Params, values)
		for _, p := range problems {
			if !utf8.ValidString(formatExitReason(p)) {
				t.Fatalf("reason not printable: %q", p)
			}
		}
		if len(problems) > 0 {
			return
		}
		req := &Request{env: &Env{Params: values}, agent: a}
		_ = req.Int("count")    // must not panic once validated
		_ = req.Bool("enabled") // ditto
		if req.String("name") != name {
			t.Fatal("string accessor altered the value")
		}
	})
}

func FuzzFormatExitReason(f *testing.F) {
	for _, seed := range []string{"", "plain", "a\nb\r\nc", strings.Repeat("é", 200), "\xff\xfe", "ocf-exit-reason:x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, reason string) {
		got := formatExitReason(reason)
		if len(got) > maxExitReasonBytes || !utf8.ValidString(got) ||
			strings.ContainsAny(got, "\r\n") || strings.Contains(got, exitReasonPrefix) {
			t.Fatalf("formatExitReason(%q) = %q", reason, got)
		}
	})
}

// FuzzMain drives the whole runtime with arbitrary actions and environments:
// it must always return a valid OCF code and at most one exit reason.
func FuzzMain(f *testing.F) {
	f.Add("start", "OCF_RESKEY_name=x")
	f.Add("monitor", "OCF_RESKEY_count=z\x00OCF_RESKEY_CRM_meta_interval=0")
	f.Add("stop", "OCF_RESKEY_enabled=2")
	f.Add("validate-all", "")
	f.Add("meta-data", "\xff")
	f.Add("bogus", "OCF_RESKEY_CRM_meta_timeout=1")
	f.Fuzz(func(t *testing.T, action, blob string) {
		a := minimalAgent()
		a.Start = func(_ context.Context, req *Request) error {
			req.Log.Infof("%s %d %v", req.String("name"), req.Int("count"), req.Bool("enabled"))
			return nil
		}
		r := invoke(a, newTestWorld(), action, strings.Split(blob, "\x00")...)
		if !ExitCode(r.code).Valid() {
			t.Fatalf("invalid exit code %d", r.code)
		}
		if n := len(r.exitReasons()); n > 1 {
			t.Fatalf("%d exit reasons:\n%s", n, r.stderr)
		}
		if r.code != 0 && !ExitCode(r.code).IsState() && len(r.exitReasons()) != 1 {
			t.Fatalf("failure %d without exit reason:\n%s", r.code, r.stderr)
		}
	})
}
