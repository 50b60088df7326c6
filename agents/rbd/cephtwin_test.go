package rbd

import "testing"

func TestNeedsCeph(t *testing.T) {
	getenv := func(string) string { return "20" } // no depth makes monitor need Ceph
	for action, want := range map[string]bool{"start": true, "monitor": false, "stop": false, "meta-data": false, "": false} {
		if got := NeedsCeph(action, getenv); got != want {
			t.Errorf("%q: %v", action, got)
		}
	}
}
