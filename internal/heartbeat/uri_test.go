package heartbeat

import (
	"context"
	"strings"
	"testing"
)

func TestParseBackends(t *testing.T) {
	specs, err := ParseBackends(" rados://rbd/hb, file:///srv//hb/ block:///dev/sdb\nRADOS://other")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(URIs(specs), " ")
	if got != "rados://rbd/hb file:///srv/hb block:///dev/sdb rados://other" {
		t.Fatalf("canonical: %s", got)
	}
	if specs[0].Pool != "rbd" || specs[0].Namespace != "hb" || specs[1].Path != "/srv/hb" {
		t.Fatalf("%+v", specs)
	}
	bad := []string{"", "  ,", "rados://", "rados://a/b/c", "rados://bad pool", "file://rel/dir", "file:///",
		"block:///dev/sdb?x", "nfs:///x", "plain", "file:///a file:///a/", "rados://" + strings.Repeat("p", 600),
		strings.Repeat("file:///x ", 17)}
	for _, b := range bad {
		if _, err := ParseBackends(b); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
}

func TestOpenLocal(t *testing.T) {
	ctx := context.Background()
	for _, uri := range []string{"file:///tmp/x", "block:///dev/null"} {
		s, _ := ParseBackend(uri)
		b, err := OpenLocal(ctx, s)
		if err != nil || b.URI() != uri {
			t.Fatalf("%s: %v", uri, err)
		}
	}
	s, _ := ParseBackend("rados://rbd")
	if _, err := OpenLocal(ctx, s); err == nil {
		t.Fatal("OpenLocal opened rados")
	}
	specs, _ := ParseBackends("file:///tmp/x rados://rbd")
	if _, err := OpenAll(ctx, specs, OpenLocal); err == nil {
		t.Fatal("OpenAll ignored an error")
	}
}
