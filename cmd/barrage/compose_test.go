package main

// docker-compose.yml is for users: no Docker runs where the tests run. These
// tests hold it to the binary instead. Compose's own loader (compose-go)
// reads the file as `docker compose` would: it validates it against the
// Compose schema, merges the anchors, interpolates the variables with none
// set (a fresh checkout without a .env file) and splits string commands.
// Every Barrage service's command then goes through the real subcommand's
// flag parsing, in this process, with -h appended: each subcommand parses
// all its flags before doing anything, and -h then stops it with
// flag.ErrHelp (exit 0), while an unknown flag or a bad value is exit 2. The
// wiring between the services, the image tags and the published ports are
// checked as well.

import (
	"context"
	"flag"
	"fmt"
	"io"
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
			want:    []string{`service "w1": barrage worker: flag provided but not defined: -max-vu`},
		},
		{
			name:    "unknown flag, list command",
			replace: map[string]string{"@SERVER@": `command: [server, --listen, "0.0.0.0:8480", --db, "postgres://b@pg/b", --temporal, "temporal:7233", --frobnicate]`},
			want:    []string{`service "api": barrage server: flag provided but not defined: -frobnicate`},
		},
		{
			name:    "bad flag value",
			replace: map[string]string{"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 --max-vus lots`},
			want:    []string{`service "w1": barrage worker rejects its flags (exit 2)`, `invalid value "lots" for flag -max-vus`},
		},
		{
			name:    "flag without its value",
			replace: map[string]string{"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id`},
			want:    []string{`service "w1": barrage worker: flag needs an argument: -id`},
		},
		{
			name:    "stray argument",
			replace: map[string]string{"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 -v false`},
			want:    []string{`service "w1": barrage worker: unexpected argument "false"`},
		},
		{
			name:    "arguments after --",
			replace: map[string]string{"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 -- extra`},
			want:    []string{`service "w1": barrage worker: unexpected argument "extra"`},
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

// barrageService is a service running the Barrage binary, its command parsed.
type barrageService struct {
	name  string
	svc   types.ServiceConfig
	sub   string
	flags map[string]string // flag name without dashes → value ("true" for a bare bool)
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

// checkCommand parses a Barrage service's command: the subcommand must
// exist, every flag must be one of its flags with a value it accepts.
func checkCommand(name string, svc types.ServiceConfig, report func(string, ...any)) *barrageService {
	args := []string(svc.Command)
	if len(args) == 0 {
		report("service %q: runs Barrage but has no command; give the subcommand and its flags", name)
		return nil
	}
	sub := args[0]
	if !slices.ContainsFunc(subcommands(), func(sc subcommand) bool { return sc.name == sub }) {
		report("service %q: barrage has no subcommand %q", name, sub)
		return nil
	}
	flags, ok := parseCommandFlags(name, sub, args[1:], report)
	if !ok {
		return nil
	}
	// The real parsing; -h stops the subcommand before it starts anything
	// (parseCommandFlags made sure that it reaches the -h).
	code, out := runCaptured(append(slices.Clone(args), "-h"))
	if code != 0 || strings.Contains(out, "flag provided but not defined") {
		line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		report("service %q: barrage %s rejects its flags (exit %d): %s", name, sub, code, line)
		return nil
	}
	if sub == "target" {
		// The target checks its address after parsing; do that too.
		if _, err := parseTargetFlags(args[1:]); err != nil {
			report("service %q: barrage target: %v", name, err)
		}
	}
	return &barrageService{name: name, svc: svc, sub: sub, flags: flags}
}

// parseCommandFlags parses a command's flags with package flag, as the
// subcommand will, against the flags its -h output lists, and returns their
// values. It refuses what would make the run with -h appended start the
// subcommand for real: a flag left wanting a value would take the -h, and
// flag parsing stops at an argument before it reaches the -h.
func parseCommandFlags(service, sub string, args []string, report func(string, ...any)) (map[string]string, bool) {
	spec := flagSpec(sub)
	if len(spec) == 0 && len(args) > 0 {
		report("service %q: could not read the flags of barrage %s from its -h output", service, sub)
		return nil, false
	}
	fs := flag.NewFlagSet(sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := map[string]string{}
	for name, takesValue := range spec {
		fs.Var(flagValue{flags, name, !takesValue}, name, "")
	}
	for {
		if err := fs.Parse(args); err != nil {
			report("service %q: barrage %s: %v", service, sub, err)
			return nil, false
		}
		args = fs.Args()
		if sub != "run" || len(args) == 0 {
			break
		}
		args = args[1:] // run takes flags after its FILE argument too
	}
	if len(args) > 0 {
		report("service %q: barrage %s: unexpected argument %q", service, sub, args[0])
		return nil, false
	}
	return flags, true
}

// flagValue records a flag's value in a map; a bool flag takes none.
type flagValue struct {
	values map[string]string
	name   string
	isBool bool
}

func (f flagValue) String() string     { return "" }
func (f flagValue) IsBoolFlag() bool   { return f.isBool }
func (f flagValue) Set(v string) error { f.values[f.name] = v; return nil }

var flagSpecs = map[string]map[string]bool{}

// flagSpec returns a subcommand's flags, each with whether it takes a value,
// as its -h output lists them: "  -name type" for a flag with a value,
// "  -name" alone for a bool.
func flagSpec(sub string) map[string]bool {
	if spec, ok := flagSpecs[sub]; ok {
		return spec
	}
	spec := map[string]bool{}
	_, out := runCaptured([]string{sub, "-h"})
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "  -")
		if !ok || rest == "" {
			continue
		}
		name, after, _ := strings.Cut(strings.SplitN(rest, "\t", 2)[0], " ")
		spec[name] = after != ""
	}
	flagSpecs[sub] = spec
	return spec
}

// runCaptured runs realMain and returns its exit code and what it wrote to
// stderr. Flag sets write to os.Stderr as it is when they are made, so
// swapping it catches their messages. Not for parallel tests.
func runCaptured(args []string) (code int, stderr string) {
	f, err := os.CreateTemp("", "barrage-compose-test-*")
	if err != nil {
		return -1, err.Error()
	}
	defer os.Remove(f.Name())
	defer f.Close()
	saved := os.Stderr
	os.Stderr = f
	func() {
		defer func() { os.Stderr = saved }()
		code = realMain(args)
	}()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return code, err.Error()
	}
	b, _ := io.ReadAll(f)
	return code, string(b)
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
		case b.sub == "server" && server != nil:
			report("services %q and %q both run barrage server", server.name, b.name)
		case b.sub == "server":
			server = b
		case b.sub == "worker":
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
		if u, err := url.Parse(w.flags["server"]); err != nil || u.Hostname() != server.name || u.Port() != port {
			report("service %q: --server %s is not the server service (http://%s:%s)", w.name, w.flags["server"], server.name, port)
		}
		if !isTemporalService(services, w.flags["temporal"]) {
			report("service %q: --temporal %s is not the Temporal service", w.name, w.flags["temporal"])
		}
		id := w.flags["id"]
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
	if db := s.flags["db"]; !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
		report("service %q: --db %q is not a postgres:// URL", s.name, db)
	}
	if t, ok := s.flags["temporal"]; !ok {
		report("service %q: no --temporal: the server would start its own embedded Temporal", s.name)
	} else if !isTemporalService(services, t) {
		report("service %q: --temporal %s is not the Temporal service", s.name, t)
	}
	listen, ok := s.flags["listen"]
	if !ok {
		listen = "127.0.0.1:8480" // the flag's default
	}
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
