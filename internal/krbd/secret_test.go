package krbd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmha/kvmha/internal/files"
	"github.com/kvmha/kvmha/internal/files/filestest"
)

const testKey = "AQBzKmVmAAAAABAAvN1G5yOJcN5bC8V5iX6Wkw=="

func TestParseSecret(t *testing.T) {
	keyring := "# comment\n[client.admin]\n\tkey = AQAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAA==\n[client.kvmha]\n\tkey = " + testKey +
		"\n\tcaps mon = \"profile rbd\"\n"
	for _, c := range []struct {
		name, data, user string
		format           KeyFileFormat
		bad              string
	}{
		{"keyring", keyring, "kvmha", Keyring, ""},
		{"keyring with client. prefix", keyring, "client.kvmha", Keyring, ""},
		{"bare", testKey + "\n", "anyone", BareKey, ""},
		{"keyring without the user", keyring, "other", 0, "no [client.other] section"},
		{"section without key", "[client.x]\ncaps = 1\n", "x", 0, "no key for client.x"},
		{"bad header", "[client.x\nkey = " + testKey, "x", 0, "without ]"},
		{"bad base64", "[client.x]\nkey = not*base64\n", "x", 0, "not base64"},
		{"empty", "\n\n", "x", 0, "empty"},
		{"short", "AQAB\n", "x", 0, "too short"},
	} {
		s, format, err := ParseSecret([]byte(c.data), c.user)
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.bad)
			}
			if err != nil && strings.Contains(err.Error(), "AQ") {
				t.Errorf("%s: error quotes the content: %v", c.name, err)
			}
			continue
		}
		if err != nil || format != c.format || string(s.b) != testKey {
			t.Errorf("%s: %v %v %q", c.name, format, err, s.b)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s, _, err := ParseSecret([]byte(testKey), "x")
	if err != nil {
		t.Fatal(err)
	}
	out := fmt.Sprintf("%v %s %q %x %+v %#v %d", s, s, s, s, s, s, s) + fmt.Sprint(s) + fmt.Sprintf("%v", struct{ S Secret }{s})
	if strings.Contains(out, "AQB") || strings.Contains(out, fmt.Sprintf("%x", testKey[:6])) {
		t.Fatalf("key printed: %s", out)
	}
	s.Wipe()
	if !s.IsZero() {
		t.Fatal("not wiped")
	}
}

func TestReadSecretFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if err := os.WriteFile(p, []byte(testKey), 0o600); err != nil {
		t.Fatal(err)
	}
	s, f, err := ReadSecretFile(ctx, p, "kvmha")
	if err != nil || f != BareKey || s.IsZero() {
		t.Fatal(f, err)
	}
	if _, _, err := ReadSecretFile(ctx, filepath.Join(dir, "none"), "x"); !os.IsNotExist(err) {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxKeyFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadSecretFile(ctx, big, "x"); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatal(err)
	}
	if _, _, err := ReadSecretFile(ctx, dir, "x"); err == nil {
		t.Fatal("read a folder")
	}
	// A FIFO nobody writes to is refused at once, not waited for.
	fifo := filestest.FIFO(t, filepath.Join(dir, "fifo"))
	if _, _, err := ReadSecretFile(ctx, fifo, "x"); !errors.Is(err, files.ErrNotRegular) {
		t.Fatal(err)
	}
}
