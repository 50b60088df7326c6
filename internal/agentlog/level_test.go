package agentlog

import "testing"

func TestLevelNames(t *testing.T) {
	for l, want := range map[Level]string{Debug: "DEBUG", Info: "INFO", Warning: "WARNING", Error: "ERROR", Level(9): "ERROR"} {
		if got := l.String(); got != want {
			t.Errorf("Level(%d) = %q, want %q", int(l), got, want)
		}
	}
}
