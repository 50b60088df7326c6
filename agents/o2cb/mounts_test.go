package o2cb

import (
	"slices"
	"strings"
	"testing"
)

func TestParseMounts(t *testing.T) {
	in := "sysfs /sys sysfs rw 0 0\n" +
		"/dev/vdb /srv/a\\040b ocfs2 rw,relatime,heartbeat=local 0 0\n" +
		"broken line\n\n" +
		"ocfs2_dlmfs /dlm ocfs2_dlmfs rw 0 0\n" +
		"tmpfs /dlm tmpfs rw 0 0\n" +
		"x /odd\\1\\\\134\\777 t 0 0\n"
	m := parseMounts(in)
	if len(m) != 5 {
		t.Fatalf("%+v", m)
	}
	if got := ocfs2Mounts(m); !slices.Equal(got, []string{"/srv/a b"}) {
		t.Fatalf("ocfs2 mounts %q", got)
	}
	if got := mountedAt(m, "/dlm"); got != "tmpfs" {
		t.Fatalf("the last mount hides the earlier: got %s", got)
	}
	if got := m[4].Target; got != "/odd\\1\\\\\xff" {
		t.Fatalf("unescape %q", got)
	}
}

// FuzzParseMounts: never panics; a line without escapes comes back as its
// first three fields; unescaping never grows a field.
func FuzzParseMounts(f *testing.F) {
	f.Add("sysfs /sys sysfs rw 0 0\n/dev/vdb /srv/a\\040b ocfs2 rw 0 0\n")
	f.Add("a b c\\")
	f.Add("\\0\\00\\000 \\ \\1234")
	f.Fuzz(func(t *testing.T, data string) {
		mounts := parseMounts(data)
		var lines []string
		for _, line := range strings.Split(data, "\n") {
			if len(strings.Fields(line)) >= 3 {
				lines = append(lines, line)
			}
		}
		if len(mounts) != len(lines) {
			t.Fatalf("%d mounts from %d lines", len(mounts), len(lines))
		}
		for i, m := range mounts {
			raw := strings.Fields(lines[i])
			if len(m.Source) > len(raw[0]) || len(m.Target) > len(raw[1]) || len(m.FSType) > len(raw[2]) {
				t.Fatalf("unescaping grew a field: %q -> %+v", lines[i], m)
			}
			if !strings.Contains(lines[i], "\\") && (m.Source != raw[0] || m.Target != raw[1] || m.FSType != raw[2]) {
				t.Fatalf("%q -> %+v", lines[i], m)
			}
		}
	})
}
