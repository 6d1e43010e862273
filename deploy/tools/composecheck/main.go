// composecheck loads a compose file the way Docker Compose does (compose-go: the Compose
// Specification's JSON schema, interpolation, merges, extends and the cross-reference checks
// such as depends_on naming a service) without an engine, and prints the services it found.
// Usage: composecheck FILE [NAME=VALUE ...]; the pairs stand in for the environment.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck FILE [NAME=VALUE ...]")
		os.Exit(2)
	}
	file, err := filepath.Abs(os.Args[1])
	if err != nil {
		fail(err)
	}
	env := []string{}
	for _, pair := range os.Args[2:] {
		if !strings.Contains(pair, "=") {
			fail(fmt.Errorf("%q is not NAME=VALUE", pair))
		}
		env = append(env, pair)
	}
	options, err := cli.NewProjectOptions(
		[]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithEnv(env),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	names := project.ServiceNames()
	sort.Strings(names)
	fmt.Printf("%s: valid, services: %s\n", project.Name, strings.Join(names, " "))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "composecheck:", err)
	os.Exit(1)
}
