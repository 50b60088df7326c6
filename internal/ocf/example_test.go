package ocf_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kvmha/kvmha/internal/ocf"
)

func Example() {
	running := false
	agent := &ocf.Agent{
		Name:      "example",
		ShortDesc: "Example agent",
		Params: []ocf.Param{
			{Name: "retries", Type: ocf.TypeInteger, Default: "3", ShortDesc: "How often to retry"},
		},
		Start: func(_ context.Context, req *ocf.Request) error {
			running = req.Int("retries") > 0
			return nil
		},
		Stop: func(context.Context, *ocf.Request) error { running = false; return nil },
		Monitor: func(context.Context, *ocf.Request) error {
			if !running {
				return ocf.Exit(ocf.NotRunning)
			}
			return nil
		},
	}
	env := []string{"OCF_RESOURCE_INSTANCE=demo"}
	for _, action := range []string{"monitor", "start", "monitor", "promote"} {
		code := agent.Main([]string{"example", action}, env, io.Discard, io.Discard)
		fmt.Println(action, code)
	}

	// A bad parameter fails validate-all with an exit reason for Pacemaker.
	var stderr strings.Builder
	code := agent.Main([]string{"example", "validate-all"}, append(env, "OCF_RESKEY_retries=many"), os.Stdout, &stderr)
	fmt.Println("validate-all", code)
	fmt.Print(stderr.String()[strings.Index(stderr.String(), "ocf-exit-reason:"):])
	// Output:
	// monitor 7
	// start 0
	// monitor 0
	// promote 3
	// validate-all 6
	// ocf-exit-reason:invalid configuration: parameter retries: "many" is not an integer
}
