package fence

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// Seeds run as ordinary tests with plain `go test`; `go test -fuzz=FuzzX`
// explores further.

func FuzzParseStdin(f *testing.F) {
	for _, s := range []string{
		"action=off\nplug=vm1\nnodename=node1\n",
		"option=reboot\nport=vm1\n",
		"# comment\n\n  \n=\n==\nip=\"\"\n\"\n",
		"verbose=maybe\npower_timeout=NaN\ndelay=-1\nipport=1e99\n",
		"passwd=\"a=b\"\r\nlogin-timeout=3\r\n",
		"\x00=\x00\n\xff\xfe=\xfd\n",
		strings.Repeat("k=v\n", 1000),
		"action=list-status\nseparator=\n",
	} {
		f.Add([]byte(s))
	}
	a := richAgent(newFakeDevice())
	set := a.optionSet()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseStdin(set, bytes.NewReader(data))
		if err != nil {
			return
		}
		for k := range p.raw {
			if set.byName[k] == nil {
				t.Fatalf("parsed into undeclared option %q", k)
			}
		}
		v := newValues(set, p.raw)
		_ = v.staticErrors(true)
		_ = a.budget(v.Get(OptAction), v)
		_ = v.Int("ipport")
		_ = v.Bool("ssl")
		_ = v.Duration("login_timeout")
	})
}

func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"-o\x00off\x00-n\x00vm1",
		"--action=reboot\x00--port\x00vm1",
		"-vvvzooff",
		"--\x00-n",
		"--p=1",
		"-\x00--\x00---\x00--=",
		"-n",
		"--power-timeout",
		"-\xff\xfe",
		"--ssl=1\x00--help",
	} {
		f.Add(s)
	}
	set := richAgent(newFakeDevice()).optionSet()
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		p, err := parseArgs(set, args)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\x00\n") {
				t.Fatalf("unsafe error text %q", err.Error())
			}
			return
		}
		for k := range p.raw {
			if set.byName[k] == nil {
				t.Fatalf("parsed into undeclared option %q", k)
			}
		}
	})
}

// FuzzMain feeds arbitrary stdin to the whole runtime. Each run is bounded by
// a short parent context, so fuzzed delays cannot stall it.
func FuzzMain(f *testing.F) {
	for _, s := range []string{
		"action=off\nip=sw\nplug=vm1\n",
		"action=status\nip=sw\nplug=vm2\n",
		"action=list-status\nip=sw\nseparator=\x00\n",
		"action=metadata\n",
		"action=manpage\n",
		"action=validate-all\nip=bad.invalid\n",
		"action=reboot\nip=sw\nplug=vm3\ndelay=1000000\n",
		"action=monitor\nip=sw\nverbose=1\ndebug_file=\n",
		"help=1\n",
		"action=\xff\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte("debug")) {
			return // never let fuzzed input create files
		}
		a := richAgent(newFakeDevice())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		var out, errb bytes.Buffer
		code := a.run(ctx, nil, bytes.NewReader(data), &out, &errb, runConfig{grace: 10 * time.Millisecond})
		if code < 0 || code > 2 {
			t.Fatalf("exit code %d", code)
		}
	})
}
