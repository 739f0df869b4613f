package executor_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lkpkg/lkpkg/executor"
)

// A build of ./pkg whose FROM image comes from a local OCI layout, exported
// as an OCI layout directory. main() must start with
// "if executor.RuntimeMain() { return }" for RUN steps to work.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	engine, err := executor.New(ctx, executor.Options{StateDir: "/var/lib/lkpkg"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer engine.Close()
	base, err := executor.OCILayoutContext("linuxkit-cache", "/root/.linuxkit/cache", "docker.io/library/alpine:3.21")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	res, err := engine.Solve(ctx, executor.SolveRequest{
		ContextDir:     "./pkg",
		Platform:       "linux/amd64",
		BuildArgs:      map[string]string{"VERSION": "1.2"},
		Network:        executor.NetworkNone,
		NamedContexts:  map[string]string{"alpine:3.21": base},
		OCIStores:      map[string]string{"linuxkit-cache": "/root/.linuxkit/cache"},
		ExportName:     "linuxkit/pkg:abc-amd64",
		OutputDir:      "/tmp/pkg-layout",
		ProgressOutput: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(res.ImageDigest)
}
