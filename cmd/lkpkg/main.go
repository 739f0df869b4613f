package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/lkpkg/lkpkg/executor"
)

var _ = yaml.Node{}

func main() {
	if executor.RuntimeMain() {
		return
	}
	app := &cli.App{Name: "lkpkg"}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
