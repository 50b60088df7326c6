package virtualdomain

import (
	"strings"
	"testing"
)

func TestParseKeyring(t *testing.T) {
	keyring := "# comment\n[client.admin]\n\tkey = QURNSU4=\n\n[client.kvmha]\n\tkey=S1ZNSEE=\n\tcaps osd = \"profile rbd\"\n"
	for entity, want := range map[string]string{"client.admin": "ADMIN", "client.kvmha": "KVMHA"} {
		key, err := parseKeyring([]byte(keyring), entity)
		if err != nil || string(key) != want {
			t.Errorf("%s: %q %v", entity, key, err)
		}
	}
	if _, err := parseKeyring([]byte(keyring), "client.nobody"); err == nil {
		t.Error("missing entity found")
	}
	_, err := parseKeyring([]byte("[client.x]\nkey = not*base64!\n"), "client.x")
	if err == nil || strings.Contains(err.Error(), "not*base64") {
		t.Errorf("bad key: %v", err)
	}
}

func TestCephSecretXML(t *testing.T) {
	x := cephSecretXML(secretRef{UUID: "u-1"}, "kvmha")
	if !strings.Contains(x, "<uuid>u-1</uuid>") || !strings.Contains(x, `<usage type="ceph"><name>client.kvmha key for kvmha (u-1)</name>`) {
		t.Fatal(x)
	}
	x = cephSecretXML(secretRef{Usage: "a<b"}, "kvmha")
	if strings.Contains(x, "<uuid>") || !strings.Contains(x, "<name>a&lt;b</name>") {
		t.Fatal(x)
	}
}

// FuzzParseKeyring: never panics, never returns an empty key.
func FuzzParseKeyring(f *testing.F) {
	f.Add([]byte("[client.kvmha]\nkey = S1ZNSEE=\n"), "client.kvmha")
	f.Add([]byte("[\n]key=\n["), "")
	f.Fuzz(func(t *testing.T, data []byte, entity string) {
		key, err := parseKeyring(data, entity)
		if err == nil && len(key) == 0 {
			t.Fatal("empty key accepted")
		}
	})
}
