package heartbeat

import (
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	claimSettle = 20 * time.Millisecond
	os.Exit(m.Run())
}
