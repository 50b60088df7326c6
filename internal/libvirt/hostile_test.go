package libvirt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kvmha/kvmha/internal/files/filestest"
)

func TestCheckTLSFiles(t *testing.T) {
	good := t.TempDir()
	for _, n := range []string{"cacert.pem", "clientcert.pem", "clientkey.pem"} {
		filestest.WriteFile(t, filepath.Join(good, n), "-----BEGIN X-----\n")
	}
	noCA := t.TempDir()
	fifoDir := t.TempDir()
	sshKey := t.TempDir()
	for _, n := range []string{"clientcert.pem", "clientkey.pem"} {
		for _, d := range []string{noCA, fifoDir, sshKey} {
			filestest.WriteFile(t, filepath.Join(d, n), "-----BEGIN X-----\n")
		}
	}
	filestest.FIFO(t, filepath.Join(fifoDir, "cacert.pem"))
	filestest.WriteFile(t, filepath.Join(sshKey, "clientkey.pem"), "-----BEGIN OPENSSH PRIVATE KEY-----\n")
	ctx := context.Background()
	for uri, want := range map[string]string{
		"qemu+tls://h/system?pkipath=" + good:                  "",
		"qemu+tls://h/system?pkipath=" + noCA + "&no_verify=1": "",
		"qemu+tcp://h/system?pkipath=/dev/zero":                "", // not TLS: no files
		"qemu+tls://h/system":                                  "", // libvirt's own folders
		"qemu+tls://h/system?pkipath=" + noCA:                  "cacert.pem: no such file",
		"qemu+tls://h/system?pkipath=" + fifoDir:               "cacert.pem: not a regular file (a FIFO)",
		"qemu+tls://h/system?pkipath=/dev/zero":                "clientcert.pem: not a directory",
		"qemu+tls://h/system?pkipath=" + sshKey:                "clientkey.pem is an ssh key",
	} {
		start := time.Now()
		err := CheckTLSFiles(ctx, uri)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", uri, err, want)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s took %s", uri, took)
		}
	}
}

// TestDialRefusesUnreadablePKI: Dial checks the files before go-libvirt
// reads them, and fails at once.
func TestDialRefusesUnreadablePKI(t *testing.T) {
	dir := t.TempDir()
	filestest.FIFO(t, filepath.Join(dir, "clientcert.pem"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, "qemu+tls://127.0.0.1:1/system?pkipath="+dir)
	if err == nil || !strings.Contains(err.Error(), "clientcert.pem: not a regular file (a FIFO)") {
		t.Fatalf("Dial: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Dial took %s", took)
	}
}

func TestErrorsStayShortAndPrintable(t *testing.T) {
	long := "qemu+bogus://" + strings.Repeat("x", 100<<10) + "\xff\n/system"
	err := CheckURI(long)
	if err == nil || len(err.Error()) > 400 || !utf8.ValidString(err.Error()) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("%d bytes: %.200q", len(err.Error()), err)
	}
	e := &Error{Op: "look up domain " + boundedText(strings.Repeat("d", 100<<10)),
		Err: errors.New("Domain not found: no domain with matching name '" + strings.Repeat("d", 100<<10) + "'\xff")}
	if msg := e.Error(); len(msg) > 700 || !utf8.ValidString(msg) {
		t.Fatalf("%d bytes: %.200q", len(msg), msg)
	}
	if got := boundedText("qemu:///system"); got != "qemu:///system" {
		t.Fatalf("a plain value changed: %q", got)
	}
}

func TestDefaultURIConfIsReadBounded(t *testing.T) {
	filestest.NewHostile(t).Refused(t, time.Second, func(path string) error {
		if got := uriDefaultFromConf(path); got != "" {
			return fmt.Errorf("%q", got)
		}
		return nil
	})
}
