package main

// docker-compose.yml is for users: no Docker runs where the tests run. These
// tests hold it to the binary instead. Compose's own loader (compose-go)
// reads the file as `docker compose` would: it validates it against the
// Compose schema, merges the anchors, interpolates the variables with none
// set (a fresh checkout without a .env file) and splits string commands.
// Every Barrage service's command is then found in the real cobra command
// tree and parsed by that command, in this process, up to where it would
// start running (checkCommand). The wiring between the services, the image
// tags and the published ports are checked as well.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
)

const composePath = "../../docker-compose.yml"

func TestComposeFile(t *testing.T) {
	doc, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatalf("read %s: %v", composePath, err)
	}
	for _, p := range checkCompose(doc) {
		t.Errorf("%s: %s", composePath, p)
	}
}

// TestComposeCheckerFindsProblems feeds the checker broken files: a checker
// that finds nothing proves nothing.
func TestComposeCheckerFindsProblems(t *testing.T) {
	tests := []struct {
		name    string
		replace map[string]string // goodCompose's placeholders to break
		want    []string          // substrings of the problems reported, in any order
	}{
		{
			name:    "unknown flag, string command",
			replace: map[string]string{"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 --max-vu 10`},
			want:    []string{`service "w1": barrage worker: unknown flag: --max-vu`},
		},
		{
			name:    "unknown flag, list command",
			replace: map[string]string{"@SERVER@": `command: [server, --listen, "0.0.0.0:8480", --db, "postgres://b@pg/b", --temporal, "temporal:7233", --frobnicate]`},
			want:    []string{`service "api": barrage server: unknown flag: --frobnicate`},
		},
		{
			name:    "bad flag value",
			replace: map[string]string{"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 --max-vus lots`},
			want:    []string{`service "w1": barrage worker: invalid value "lots" for flag -max-vus`},
		},
		{
			name:    "flag without its value",
			replace: map[string]string{"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id`},
			want:    []string{`service "w1": barrage worker: flag needs an argument: --id`},
		},
		{
			name:    "stray argument",
			replace: map[string]string{"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 -v false`},
			want:    []string{`service "w1": barrage worker: unexpected arguments ["false"]`},
		},
		{
			name:    "arguments after --",
			replace: map[string]string{"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 -- extra`},
			want:    []string{`service "w1": barrage worker: unexpected arguments ["extra"]`},
		},
		{
			name:    "help instead of running",
			replace: map[string]string{"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 -h`},
			want:    []string{`service "w1": barrage worker: -h prints the help and exits`},
		},
		{
			name:    "not Compose's schema",
			replace: map[string]string{"@WORKER2_DEPENDS@": `depend_on: {api: {condition: service_healthy}}`},
			want:    []string{`services.w2.depend_on`},
		},
		{
			name: "wiring",
			replace: map[string]string{
				"@SERVER@":  `command: server --listen 127.0.0.1:8480 --db sqlite:/data/b.db --temporal temporal:7233`,
				"@WORKER1@": `command: worker --server http://localhost:8480 --temporal 127.0.0.1:7233 --id w1`,
				"@WORKER2@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1`,
			},
			want: []string{
				`service "api": --db "sqlite:/data/b.db" is not a postgres:// URL`,
				`service "api": --listen 127.0.0.1:8480 is loopback`,
				`service "w1": --server http://localhost:8480 is not the server service`,
				`service "w1": --temporal 127.0.0.1:7233 is not the Temporal service`,
				`services "w1" and "w2" have the same --id w1`,
			},
		},
		{
			name:    "one worker, an unknown subcommand",
			replace: map[string]string{"@WORKER2@": `command: wroker --server http://api:8480`},
			want:    []string{`service "w2": barrage has no subcommand "wroker"`, `2 barrage workers are needed, found 1`},
		},
		{
			name: "tags and ports",
			replace: map[string]string{
				"@TEMPORAL_IMAGE@": `image: temporalio/auto-setup:latest`,
				"@PG_IMAGE@":       `image: postgres`,
				"@PG_PORTS@":       `ports: ["5432:5432", "0.0.0.0:5433:5432", {target: 5432, published: 15432}, {target: 5432, published: 25432, host_ip: 127.0.0.1}]`,
			},
			want: []string{
				`service "temporal": image temporalio/auto-setup:latest is not pinned`,
				`service "pg": image postgres is not pinned`,
				`service "pg": port "5432:5432" is published on every interface`,
				`service "pg": port "0.0.0.0:5433:5432" is published on 0.0.0.0`,
				`service "pg": port "15432:5432" is published on every interface`,
			},
		},
		{
			name:    "variable without a default",
			replace: map[string]string{"@SERVER@": `command: server --listen 0.0.0.0:8480 --db postgres://b:${PW:?set PW}@pg/b --temporal temporal:7233`},
			want:    []string{`required variable PW is missing a value: set PW`},
		},
		{
			name:    "target listening on loopback inside a container",
			replace: map[string]string{"@TARGET@": `target: {build: ., command: [target, --listen, "0.0.0.0:8080"]}`},
			want:    []string{`service "target": barrage target: refusing to listen on "0.0.0.0:8080"`},
		},
		{
			name:    "worker does not wait for a healthy server",
			replace: map[string]string{"@WORKER2_DEPENDS@": `depends_on: [api]`},
			want:    []string{`service "w2": depends_on api needs condition: service_healthy`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := checkCompose([]byte(goodCompose(tt.replace)))
			all := strings.Join(problems, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("want a problem containing %q; got:\n%s", w, all)
				}
			}
		})
	}
}

func TestComposeCheckerAcceptsGoodFile(t *testing.T) {
	if problems := checkCompose([]byte(goodCompose(nil))); len(problems) > 0 {
		t.Errorf("problems in a good file:\n%s", strings.Join(problems, "\n"))
	}
}

// goodCompose is a small valid compose file; each placeholder line can be
// replaced to break one thing.
func goodCompose(replace map[string]string) string {
	doc := `
x-barrage: &barrage
  build: .
  image: barrage:test
services:
  pg:
    @PG_IMAGE@
    @PG_PORTS@
  temporal:
    @TEMPORAL_IMAGE@
    ports: ["127.0.0.1:7233:7233"]
  api:
    <<: *barrage
    @SERVER@
    ports:
      - "127.0.0.1:8480:8480"
      - {target: 8480, published: 18480, host_ip: "::1"}
    healthcheck: {test: [CMD, curl, -f, "http://127.0.0.1:8480/readyz"]}
  w1:
    <<: *barrage
    @WORKER1@
    depends_on: {api: {condition: service_healthy}}
  w2:
    <<: *barrage
    @WORKER2@
    @WORKER2_DEPENDS@
  @TARGET@
`
	lines := map[string]string{
		"@PG_IMAGE@":        `image: postgres:17.6`,
		"@PG_PORTS@":        `ports: []`,
		"@TEMPORAL_IMAGE@":  `image: temporalio/auto-setup:1.29.1`,
		"@SERVER@":          `command: [server, --listen, "0.0.0.0:8480", --db, "postgres://b:${PW:-pw}@pg:5432/b?sslmode=disable", --temporal, "temporal:7233"]`,
		"@WORKER1@":         `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 --max-vus 10`,
		"@WORKER2@":         `command: "worker --server 'http://api:8480' --temporal temporal:7233 --id w2 -v"`,
		"@WORKER2_DEPENDS@": `depends_on: {api: {condition: service_healthy}}`,
		"@TARGET@":          `target: {image: "barrage:test", command: [target, --listen, "0.0.0.0:8080", --allow-remote]}`,
	}
	for k, v := range replace {
		lines[k] = v
	}
	for k, v := range lines {
		doc = strings.Replace(doc, k, v, 1)
	}
	return doc
}

// barrageService is a service running the Barrage binary, its command's
// flags parsed by the command it runs.
type barrageService struct {
	name string
	svc  types.ServiceConfig
	cmd  *cobra.Command
}

// flag is the value of a string flag, its default if not given.
func (b *barrageService) flag(name string) string {
	v, _ := b.cmd.Flags().GetString(name)
	return v
}

// checkCompose returns what is wrong with a compose file, one sentence each.
func checkCompose(doc []byte) []string {
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(composePath),
		ConfigFiles: []types.ConfigFile{{Filename: "docker-compose.yml", Content: doc}},
		Environment: types.Mapping{}, // no variable is set
	}, func(o *loader.Options) { o.SetProjectName("barrage", true) })
	if err != nil {
		return []string{fmt.Sprintf("load: %v", err)}
	}
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var barrage []*barrageService
	for _, name := range slices.Sorted(maps.Keys(project.Services)) {
		svc := project.Services[name]
		checkImage(name, svc, report)
		checkPorts(name, svc, report)
		if !isBarrage(svc) {
			continue
		}
		if b := checkCommand(name, svc, report); b != nil {
			barrage = append(barrage, b)
		}
	}
	checkWiring(project.Services, barrage, report)
	return problems
}

func isBarrage(svc types.ServiceConfig) bool {
	if svc.Build != nil {
		return true
	}
	repo, _, _ := strings.Cut(svc.Image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo == "barrage" || strings.HasSuffix(repo, "/barrage")
}

// checkImage wants a tag (or digest) that is not latest on every image.
func checkImage(name string, svc types.ServiceConfig, report func(string, ...any)) {
	switch {
	case svc.Image == "" && svc.Build == nil:
		report("service %q: neither image nor build", name)
	case svc.Image != "" && !pinned(svc.Image):
		report("service %q: image %s is not pinned to a version tag", name, svc.Image)
	}
}

func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	_, tag, ok := strings.Cut(image[strings.LastIndex(image, "/")+1:], ":")
	return ok && tag != "" && tag != "latest"
}

// checkPorts wants every published port bound to a loopback address.
func checkPorts(name string, svc types.ServiceConfig, report func(string, ...any)) {
	for _, p := range svc.Ports {
		spec := fmt.Sprintf("%s:%d", p.Published, p.Target)
		switch {
		case p.HostIP == "":
			report("service %q: port %q is published on every interface; bind it to 127.0.0.1", name, spec)
		case !isLoopbackIP(p.HostIP):
			report("service %q: port %q is published on %s; bind it to 127.0.0.1", name, p.HostIP+":"+spec, p.HostIP)
		}
	}
}

func isLoopbackIP(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.IsLoopback()
}

// checkCommand finds the command a Barrage service runs in a fresh command
// tree and has it parse its arguments.
func checkCommand(name string, svc types.ServiceConfig, report func(string, ...any)) *barrageService {
	args := []string(svc.Command)
	if len(args) == 0 {
		report("service %q: runs Barrage but has no command; give the command and its flags", name)
		return nil
	}
	root := newRootCmd()
	cmd, rest, err := root.Find(longDashes(root, args))
	if err == nil && cmd.HasSubCommands() { // the root or a group: rest names none of its commands
		report("service %q: %s has no subcommand %q", name, cmd.CommandPath(), strings.Join(rest[:min(len(rest), 1)], ""))
		return nil
	}
	if err == nil {
		err = parseCommand(cmd, rest)
	}
	if err != nil {
		report("service %q: %s: %v", name, cmd.CommandPath(), err)
		return nil
	}
	return &barrageService{name: name, svc: svc, cmd: cmd}
}

// parseCommand checks args as cobra does before it runs cmd, in its order,
// and stops there: the flags and their values, the positional arguments,
// the command's PreRunE (which starts nothing), the required flags. Root's
// PersistentPreRunE, which reads the environment, is left out: the compose
// file is checked with no variable set.
func parseCommand(cmd *cobra.Command, args []string) error {
	if err := cmd.ParseFlags(args); err != nil {
		return cmd.FlagErrorFunc()(cmd, err) // worded as when running
	}
	if help, _ := cmd.Flags().GetBool("help"); help {
		return errors.New("-h prints the help and exits")
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return err
	}
	if cmd.PreRunE != nil {
		if err := cmd.PreRunE(cmd, cmd.Flags().Args()); err != nil {
			return err
		}
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return err
	}
	return cmd.ValidateFlagGroups()
}

// checkWiring checks how the Barrage services fit together: one server on
// Postgres and the Temporal service, reachable from the other containers;
// at least two workers pointed at both, each with its own ID, started once
// the server is healthy.
func checkWiring(services types.Services, bs []*barrageService, report func(string, ...any)) {
	var server *barrageService
	var workers []*barrageService
	for _, b := range bs {
		switch {
		case b.cmd.Name() == "server" && server != nil:
			report("services %q and %q both run barrage server", server.name, b.name)
		case b.cmd.Name() == "server":
			server = b
		case b.cmd.Name() == "worker":
			workers = append(workers, b)
		}
	}
	if len(workers) < 2 {
		report("2 barrage workers are needed, found %d", len(workers))
	}
	if server == nil {
		report("no service runs barrage server")
		return
	}
	port := checkServer(services, server, report)
	ids := map[string]string{}
	for _, w := range workers {
		if u, err := url.Parse(w.flag("server")); err != nil || u.Hostname() != server.name || u.Port() != port {
			report("service %q: --server %s is not the server service (http://%s:%s)", w.name, w.flag("server"), server.name, port)
		}
		if !isTemporalService(services, w.flag("temporal")) {
			report("service %q: --temporal %s is not the Temporal service", w.name, w.flag("temporal"))
		}
		id := w.flag("id")
		if id == "" {
			report("service %q: no --id: the worker would be named after its container, which changes when it is recreated", w.name)
		} else if other, dup := ids[id]; dup {
			report("services %q and %q have the same --id %s", other, w.name, id)
		}
		ids[id] = w.name
		// Compose reads the list form of depends_on as service_started.
		switch cond := w.svc.DependsOn[server.name].Condition; cond {
		case types.ServiceConditionHealthy:
		case "":
			report("service %q: does not depend on %s; add depends_on %s with condition: service_healthy", w.name, server.name, server.name)
		default:
			report("service %q: depends_on %s needs condition: service_healthy, not %s", w.name, server.name, cond)
		}
	}
}

// checkServer checks the server's flags and health check and returns the
// port it listens on.
func checkServer(services types.Services, s *barrageService, report func(string, ...any)) string {
	if db := s.flag("db"); !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
		report("service %q: --db %q is not a postgres:// URL", s.name, db)
	}
	if t := s.flag("temporal"); !s.cmd.Flags().Changed("temporal") {
		report("service %q: no --temporal: the server would start its own embedded Temporal", s.name)
	} else if !isTemporalService(services, t) {
		report("service %q: --temporal %s is not the Temporal service", s.name, t)
	}
	listen := s.flag("listen")
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		report("service %q: --listen %s: %v", s.name, listen, err)
	} else if host == "localhost" || isLoopbackIP(host) {
		report("service %q: --listen %s is loopback: no other container can reach it; listen on 0.0.0.0", s.name, listen)
	}
	var test string
	if s.svc.HealthCheck != nil {
		test = strings.Join(s.svc.HealthCheck.Test, " ")
	}
	if !strings.Contains(test, "/healthz") && !strings.Contains(test, "/readyz") {
		report("service %q: no healthcheck on /healthz or /readyz", s.name)
	}
	return port
}

// isTemporalService reports whether addr is host:port of a service running
// one of Temporal's images.
func isTemporalService(services types.Services, addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	svc, ok := services[host]
	return ok && strings.HasPrefix(svc.Image, "temporalio/")
}

// TestDockerfileBaseImagesPinned holds the Dockerfile to the same rule as
// the compose file: every base image has a version tag.
func TestDockerfileBaseImagesPinned(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.EqualFold(fields[0], "FROM") {
			continue
		}
		fields = slices.DeleteFunc(fields[1:], func(f string) bool { return strings.HasPrefix(f, "--") })
		image := fields[0]
		if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
			stages[fields[2]] = true
		}
		if stages[image] {
			continue
		}
		if !pinned(image) {
			t.Errorf("Dockerfile: FROM %s: not pinned to a version tag", image)
		}
	}
}
