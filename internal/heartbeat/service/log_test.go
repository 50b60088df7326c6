package service

import (
	"bytes"
	"strings"
	"testing"
)

func TestLog(t *testing.T) {
	var b bytes.Buffer
	l := NewLog(&b, true) // syslog may be missing: never blocks, never fails
	l.Infof("a\nb")
	l.Warnf("w")
	l.Errorf("e key=AQBzkKxmAAAAABAAj3ZQ7mGmUp1aSuHWyB8Zvg==")
	l.Close()
	if !strings.Contains(b.String(), "INFO: a b") || !strings.Contains(b.String(), "ERROR: e key=***") {
		t.Fatal(b.String())
	}
}

func TestBootID(t *testing.T) {
	if bootID() == "" {
		t.Fatal("no boot id")
	}
}
