package main

// docker-compose.yml is for users: no Docker runs where the tests run. These
// tests hold it to the binary instead. Every Barrage service's command goes
// through the real subcommand's flag parsing, in this process, with -h
// appended: each subcommand parses all its flags before doing anything, and
// -h then stops it with flag.ErrHelp (exit 0), while an unknown flag or a bad
// value is exit 2. The wiring between the services, the image tags and the
// published ports are checked as well.

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
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
		name string
		doc  string
		want []string // substrings of the problems reported, in any order
	}{
		{
			name: "unknown flag, string command",
			doc: goodCompose(map[string]string{
				"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 --max-vu 10`,
			}),
			want: []string{`service "w1": barrage worker has no flag --max-vu`},
		},
		{
			name: "unknown flag, list command",
			doc: goodCompose(map[string]string{
				"@SERVER@": `command: [server, --listen, "0.0.0.0:8480", --db, "postgres://b@pg/b", --temporal, "temporal:7233", --frobnicate]`,
			}),
			want: []string{`service "api": barrage server has no flag --frobnicate`},
		},
		{
			name: "bad flag value",
			doc: goodCompose(map[string]string{
				"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 --max-vus lots`,
			}),
			want: []string{`service "w1": barrage worker rejects its flags (exit 2)`, `invalid value "lots" for flag -max-vus`},
		},
		{
			name: "flag without its value",
			doc: goodCompose(map[string]string{
				"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id`,
			}),
			want: []string{`service "w1": flag --id of barrage worker needs a value`},
		},
		{
			name: "stray argument",
			doc: goodCompose(map[string]string{
				"@WORKER1@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1 -v false`,
			}),
			want: []string{`service "w1": barrage worker: unexpected argument "false"`},
		},
		{
			name: "wiring",
			doc: goodCompose(map[string]string{
				"@SERVER@":  `command: server --listen 127.0.0.1:8480 --db sqlite:/data/b.db --temporal temporal:7233`,
				"@WORKER1@": `command: worker --server http://localhost:8480 --temporal 127.0.0.1:7233 --id w1`,
				"@WORKER2@": `command: worker --server http://api:8480 --temporal temporal:7233 --id w1`,
			}),
			want: []string{
				`service "api": --db "sqlite:/data/b.db" is not a postgres:// URL`,
				`service "api": --listen 127.0.0.1:8480 is loopback`,
				`service "w1": --server http://localhost:8480 is not the server service`,
				`service "w1": --temporal 127.0.0.1:7233 is not the Temporal service`,
				`services "w1" and "w2" have the same --id w1`,
			},
		},
		{
			name: "one worker, an unknown subcommand",
			doc: goodCompose(map[string]string{
				"@WORKER2@": `command: wroker --server http://api:8480`,
			}),
			want: []string{`service "w2": barrage has no subcommand "wroker"`, `2 barrage workers are needed, found 1`},
		},
		{
			name: "tags and ports",
			doc: goodCompose(map[string]string{
				"@TEMPORAL_IMAGE@": `image: temporalio/auto-setup:latest`,
				"@PG_IMAGE@":       `image: postgres`,
				"@PG_PORTS@":       `ports: ["5432:5432", "0.0.0.0:5433:5432", {target: 5432, published: 15432}, {target: 5432, published: 25432, host_ip: 127.0.0.1}]`,
			}),
			want: []string{
				`service "temporal": image temporalio/auto-setup:latest is not pinned`,
				`service "pg": image postgres is not pinned`,
				`service "pg": port "5432:5432" is published on every interface`,
				`service "pg": port "0.0.0.0:5433:5432" is published on 0.0.0.0`,
				`service "pg": port 15432 is published on every interface`,
			},
		},
		{
			name: "variable without a default",
			doc: goodCompose(map[string]string{
				"@SERVER@": `command: server --listen 0.0.0.0:8480 --db postgres://b:${PW:?set PW}@pg/b --temporal temporal:7233`,
			}),
			want: []string{`PW must be set`},
		},
		{
			name: "target listening on loopback inside a container",
			doc: goodCompose(map[string]string{
				"@TARGET@": `target: {build: ., command: [target, --listen, "0.0.0.0:8080"]}`,
			}),
			want: []string{`service "target": barrage target: refusing to listen on "0.0.0.0:8080"`},
		},
		{
			name: "worker does not wait for a healthy server",
			doc: goodCompose(map[string]string{
				"@WORKER2_DEPENDS@": `depends_on: [api]`,
			}),
			want: []string{`service "w2": depends_on api needs condition: service_healthy`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := checkCompose([]byte(tt.doc))
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

// composeService is the part of a service the checks read.
type composeService struct {
	Image       string         `yaml:"image"`
	Build       any            `yaml:"build"`
	Command     any            `yaml:"command"`
	Ports       []any          `yaml:"ports"`
	DependsOn   any            `yaml:"depends_on"`
	Healthcheck map[string]any `yaml:"healthcheck"`
}

// barrageService is a service running the Barrage binary, its command parsed.
type barrageService struct {
	name  string
	svc   composeService
	sub   string
	flags map[string]string // flag name without dashes → value ("true" for a bare bool)
}

// checkCompose returns what is wrong with a compose file, one sentence each.
func checkCompose(doc []byte) []string {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return []string{fmt.Sprintf("parse: %v", err)}
	}
	if err := interpolateNode(&root); err != nil {
		return []string{err.Error()}
	}
	var file struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := root.Decode(&file); err != nil {
		return []string{fmt.Sprintf("decode: %v", err)}
	}
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var barrage []*barrageService
	for _, name := range sortedKeys(file.Services) {
		svc := file.Services[name]
		checkImage(name, svc, report)
		checkPorts(name, svc, report)
		if !isBarrage(svc) {
			continue
		}
		if b := checkCommand(name, svc, report); b != nil {
			barrage = append(barrage, b)
		}
	}
	checkWiring(file.Services, barrage, report)
	return problems
}

func isBarrage(svc composeService) bool {
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
func checkImage(name string, svc composeService, report func(string, ...any)) {
	if svc.Image == "" {
		if svc.Build == nil {
			report("service %q: neither image nor build", name)
		}
		return
	}
	if strings.Contains(svc.Image, "@sha256:") {
		return
	}
	last := svc.Image[strings.LastIndex(svc.Image, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	if !ok || tag == "" || tag == "latest" {
		report("service %q: image %s is not pinned to a version tag", name, svc.Image)
	}
}

// checkPorts wants every published port bound to a loopback address.
func checkPorts(name string, svc composeService, report func(string, ...any)) {
	for _, p := range svc.Ports {
		switch p := p.(type) {
		case string:
			if why := notLoopback(shortPortHostIP(p)); why != "" {
				report("service %q: port %q is published %s; bind it to 127.0.0.1", name, p, why)
			}
		case map[string]any:
			ip, _ := p["host_ip"].(string)
			if why := notLoopback(ip); why != "" {
				report("service %q: port %v is published %s; set host_ip: 127.0.0.1", name, p["published"], why)
			}
		default:
			report("service %q: port %v: neither a string nor a mapping", name, p)
		}
	}
}

// shortPortHostIP returns the IP of "[IP:]HOST:CONTAINER[/proto]", "" if none.
func shortPortHostIP(p string) string {
	if rest, ok := strings.CutPrefix(p, "["); ok {
		ip, _, _ := strings.Cut(rest, "]")
		return ip
	}
	parts := strings.Split(p, ":")
	if len(parts) == 3 {
		return parts[0]
	}
	return ""
}

func notLoopback(ip string) string {
	switch {
	case ip == "":
		return "on every interface"
	case !isLoopbackIP(ip):
		return "on " + ip
	}
	return ""
}

func isLoopbackIP(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.IsLoopback()
}

// checkCommand parses a Barrage service's command: the subcommand must
// exist, every flag must be one of its flags with a value it accepts.
func checkCommand(name string, svc composeService, report func(string, ...any)) *barrageService {
	args, err := commandArgs(svc.Command)
	if err != nil {
		report("service %q: command: %v", name, err)
		return nil
	}
	if len(args) == 0 {
		report("service %q: runs Barrage but has no command; give the subcommand and its flags", name)
		return nil
	}
	sub := args[0]
	if !isSubcommand(sub) {
		report("service %q: barrage has no subcommand %q", name, sub)
		return nil
	}
	flags, ok := parseCommandFlags(name, sub, args[1:], report)
	if !ok {
		return nil
	}
	// The real parsing; -h stops the subcommand before it starts anything.
	// parseCommandFlags made sure that no flag is left wanting a value, which
	// would take the -h as its value and start the subcommand for real.
	code, out := runCaptured(append(append([]string{}, args...), "-h"))
	if code != 0 || strings.Contains(out, "flag provided but not defined") {
		report("service %q: barrage %s rejects its flags (exit %d): %s", name, sub, code, firstLine(out))
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

func isSubcommand(name string) bool {
	for _, sc := range subcommands() {
		if sc.name == name {
			return true
		}
	}
	return false
}

// parseCommandFlags reads the flags the way package flag does (-name,
// --name, -name=value, -name value; bool flags take no separate value) and
// reports flags the subcommand does not define.
func parseCommandFlags(service, sub string, args []string, report func(string, ...any)) (map[string]string, bool) {
	spec := flagSpec(sub)
	if len(spec) == 0 && len(args) > 0 {
		report("service %q: could not read the flags of barrage %s from its -h output", service, sub)
		return nil, false
	}
	flags, ok := map[string]string{}, true
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			if sub == "run" { // run takes flags after its FILE argument too
				continue
			}
			// Flag parsing would stop here and never see the -h: a
			// subcommand that does not check for arguments would start.
			report("service %q: barrage %s: unexpected argument %q", service, sub, a)
			return flags, false
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		takesValue, known := spec[name]
		switch {
		case !known:
			report("service %q: barrage %s has no flag --%s", service, sub, name)
			ok = false
			if !hasVal && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++ // most likely its value: go on to the next flag
			}
		case takesValue && !hasVal && i+1 == len(args):
			report("service %q: flag --%s of barrage %s needs a value", service, name, sub)
			return flags, false
		case takesValue && !hasVal:
			i++
			val = args[i]
		case !hasVal:
			val = "true"
		}
		flags[name] = val
	}
	return flags, ok
}

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

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// commandArgs turns a compose command, a list or a string, into arguments.
func commandArgs(cmd any) ([]string, error) {
	switch c := cmd.(type) {
	case nil:
		return nil, nil
	case string:
		return shellSplit(c)
	case []any:
		out := make([]string, len(c))
		for i, a := range c {
			switch a := a.(type) {
			case map[string]any, []any:
				return nil, fmt.Errorf("argument %d is not a string", i)
			case string:
				out[i] = a
			default:
				out[i] = fmt.Sprint(a)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("neither a list nor a string: %v", cmd)
}

// shellSplit splits a string command into words as Compose does: on blanks,
// with single quotes, double quotes and backslashes.
func shellSplit(s string) ([]string, error) {
	var (
		out    []string
		cur    strings.Builder
		inWord bool
		quote  byte
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == '"' && c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c quote in %q", quote, s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// checkWiring checks how the Barrage services fit together: one server on
// Postgres and the Temporal service, reachable from the other containers;
// at least two workers pointed at both, each with its own ID, started once
// the server is healthy.
func checkWiring(services map[string]composeService, bs []*barrageService, report func(string, ...any)) {
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
		switch cond := dependsOnCondition(w.svc.DependsOn, server.name); cond {
		case "service_healthy":
		case "":
			report("service %q: does not depend on %s; add depends_on %s with condition: service_healthy", w.name, server.name, server.name)
		default:
			report("service %q: depends_on %s needs condition: service_healthy, not %s", w.name, server.name, cond)
		}
	}
}

// checkServer checks the server's flags and health check and returns the
// port it listens on.
func checkServer(services map[string]composeService, s *barrageService, report func(string, ...any)) string {
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
	test := fmt.Sprint(s.svc.Healthcheck["test"])
	if !strings.Contains(test, "/healthz") && !strings.Contains(test, "/readyz") {
		report("service %q: no healthcheck on /healthz or /readyz", s.name)
	}
	return port
}

// isTemporalService reports whether addr is host:port of a service running
// one of Temporal's images.
func isTemporalService(services map[string]composeService, addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	svc, ok := services[host]
	return ok && strings.HasPrefix(svc.Image, "temporalio/")
}

// dependsOnCondition returns the condition a service waits for on another:
// "" when it does not depend on it, service_started for the list form.
func dependsOnCondition(dependsOn any, on string) string {
	switch d := dependsOn.(type) {
	case []any:
		for _, s := range d {
			if s == on {
				return "service_started"
			}
		}
	case map[string]any:
		if m, ok := d[on].(map[string]any); ok {
			cond, _ := m["condition"].(string)
			return cond
		}
	}
	return ""
}

// interpolateNode expands the variables of every scalar as Compose does,
// with no environment: what a fresh checkout without a .env file gets.
func interpolateNode(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := interpolate(n.Value)
		n.Value = v
		return err
	}
	for _, c := range n.Content {
		if err := interpolateNode(c); err != nil {
			return err
		}
	}
	return nil
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)

// interpolate expands $$, $NAME and ${NAME...} with every variable unset.
func interpolate(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := closingBrace(s, i+1)
			if end < 0 {
				return "", fmt.Errorf("unclosed ${ in %q", s)
			}
			v, err := expandUnset(s[i+2 : end])
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i = end
		default:
			name := varName.FindString(s[i+1:])
			if name == "" {
				b.WriteByte('$')
			}
			i += len(name)
		}
	}
	return b.String(), nil
}

// closingBrace returns the index of the } that closes the { at s[open], -1
// if there is none; defaults may hold variables of their own.
func closingBrace(s string, open int) int {
	depth := 0
	for j := open; j < len(s); j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// expandUnset is the value of one ${...} whose variable is unset.
func expandUnset(expr string) (string, error) {
	name := varName.FindString(expr)
	op := expr[len(name):]
	switch {
	case name == "":
		return "", fmt.Errorf("bad variable ${%s}", expr)
	case op == "", strings.HasPrefix(op, "+"), strings.HasPrefix(op, ":+"):
		return "", nil
	case strings.HasPrefix(op, ":-"):
		return interpolate(op[2:])
	case strings.HasPrefix(op, "-"):
		return interpolate(op[1:])
	case strings.HasPrefix(op, "?"), strings.HasPrefix(op, ":?"):
		return "", fmt.Errorf("variable %s must be set: %s", name, strings.TrimLeft(op, ":?"))
	}
	return "", fmt.Errorf("bad variable ${%s}", expr)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
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
		if tag := checkTag(image); tag != "" {
			t.Errorf("Dockerfile: FROM %s: %s", image, tag)
		}
	}
}

func checkTag(image string) string {
	var problem string
	checkImage("", composeService{Image: image}, func(string, ...any) { problem = "not pinned to a version tag" })
	return problem
}
