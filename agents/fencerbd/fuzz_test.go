package fencerbd

import (
	"testing"
	"time"
)

func FuzzParseHosts(f *testing.F) {
	for _, s := range []string{testHosts, "node1=10.0.0.1,10.0.0.0/24", "n:[fd00::1]", "a=1.2.3.4;a=1.2.3.5", ";;", "x=,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseHosts(s)
		if err != nil {
			return
		}
		for _, n := range m.names {
			tg, err := m.resolveTarget(n)
			if err != nil || len(tg.entries()) != len(tg.addrs) || len(tg.addrs) == 0 {
				t.Fatalf("node %q of %q: %v %v", n, s, tg, err)
			}
		}
	})
}

func FuzzResolveTarget(f *testing.F) {
	for _, s := range []string{"node1", "10.0.0.1", "10.0.0.1,fd00::1", "[fd00::1]", "10.0.0.0/8", ",", "node9"} {
		f.Add(s)
	}
	m, _ := parseHosts(testHosts)
	f.Fuzz(func(t *testing.T, plug string) {
		tg, err := m.resolveTarget(plug)
		if err == nil && (tg.name == "" || len(tg.addrs) == 0) {
			t.Fatalf("%q: empty target %+v", plug, tg)
		}
	})
}

func FuzzParseExpire(f *testing.F) {
	for _, s := range []string{"10y", "3600", "1s", "0", "51y", "9999999999999", "5w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseExpire(s)
		if err == nil && (d < minExpire || d > maxExpire) {
			t.Fatalf("%q: %v out of bounds", s, d)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	r := record{Version: recordVersion, Target: "node2"}
	es, _ := parseAddrList("10.0.0.2,10.1.0.0/16")
	r.add(target{addrs: es}.entries(), time.Unix(0, 0), "n1")
	for _, s := range []string{string(r.encode()), "{}", `{"version":1,"entries":[{"entry":"junk"}]}`, "null", `{"version":1,"entries":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, es, err := decodeRecord(data)
		if err != nil {
			return
		}
		if len(es) != len(rec.Entries) {
			t.Fatalf("%d entries parsed of %d", len(es), len(rec.Entries))
		}
		back, es2, err := decodeRecord(rec.encode())
		if err != nil || len(es2) != len(es) || back.Target != rec.Target {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}
