package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envBindings is the one place where environment variables set flags. A
// flag given on the command line wins, then its variable when set and not
// empty, then the flag's default. A binding holds for the flag of that name
// on the top-level commands named and all their subcommands.
var envBindings = []struct {
	env   string
	flag  string
	verbs []string
}{
	{env: "BARRAGE_SERVER", flag: "server", verbs: []string{"runs", "scenarios", "secrets"}},
	{env: "BARRAGE_FLEET_TOKEN", flag: "fleet-token", verbs: []string{"server", "worker"}},
	{env: "BARRAGE_VICTORIA_METRICS", flag: "victoria-metrics", verbs: []string{"server", "export"}},
	{env: "BARRAGE_GRAFANA_URL", flag: "grafana-url", verbs: []string{"server"}},
	{env: "BARRAGE_TOKEN", flag: "token", verbs: []string{"run", "runs", "scenarios", "secrets"}},
	{env: "BARRAGE_SECRET_KEY_FILE", flag: "secret-key-file", verbs: []string{"server"}},
	{env: "BARRAGE_ALLOW_TARGET", flag: "allow-target", verbs: []string{"server", "worker"}},
	{env: "BARRAGE_TLS_CERT", flag: "tls-cert", verbs: []string{"server"}},
	{env: "BARRAGE_TLS_KEY", flag: "tls-key", verbs: []string{"server"}},
	{env: "BARRAGE_CA_FILE", flag: "ca-file", verbs: []string{"worker", "run", "runs", "scenarios", "secrets"}},
	{env: "BARRAGE_TEMPORAL_TLS_CERT", flag: "temporal-tls-cert", verbs: []string{"server", "worker"}},
	{env: "BARRAGE_TEMPORAL_TLS_KEY", flag: "temporal-tls-key", verbs: []string{"server", "worker"}},
	{env: "BARRAGE_TEMPORAL_TLS_CA", flag: "temporal-tls-ca", verbs: []string{"server", "worker"}},
	{env: "BARRAGE_TEMPORAL_TLS_SERVER_NAME", flag: "temporal-tls-server-name", verbs: []string{"server", "worker"}},
}

// envFor names the variable bound to c's flag, "" if none.
func envFor(c *cobra.Command, flag string) string {
	verb := c
	for verb.HasParent() && verb.Parent().HasParent() {
		verb = verb.Parent()
	}
	for _, b := range envBindings {
		if b.flag == flag && slices.Contains(b.verbs, verb.Name()) {
			return b.env
		}
	}
	return ""
}

// applyEnv sets c's flags not given on the command line from their
// variables. It runs after parsing, so that help and the generated
// reference show the defaults, not this environment's values.
func applyEnv(c *cobra.Command) error {
	var err error
	c.Flags().VisitAll(func(f *pflag.Flag) {
		env := envFor(c, f.Name)
		v := os.Getenv(env)
		if env == "" || v == "" || f.Changed || err != nil {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			err = usageError(fmt.Errorf("invalid value %q in $%s: %w", v, env, serr))
		}
	})
	return err
}
