package devserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/primitives/timestamp"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

const (
	clusterName = "active"
	storeName   = "sqlite-default"
	// retentionDays is how long closed workflows of the namespaces we
	// create are kept; long enough to look at last week's runs in the UI.
	retentionDays = 7
	// queueReadsPerSecond caps the history queue reads of the one shard; a
	// 512-shard cluster allows 512 × 20.
	queueReadsPerSecond = 1000
)

// dynamicConfig is the dynamic configuration of every dev server. It is
// built fresh per server: a StaticClient must not be mutated once in use.
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		// Never phone home (the default reads TEMPORAL_VERSION_CHECK_DISABLED).
		dynamicconfig.EnableServerVersionCheck.Key(): false,
		// The history queues read their tasks at most 20 times a second per
		// shard (burst 20). A cluster has hundreds of shards; this server
		// has one, so after a burst of ~10 workflows every workflow task,
		// activity dispatch and timer waited up to 50 ms for its read:
		// workflow + activity round trips went from ~30 ms to ~100 ms
		// (measured). Readers poll only when tasks arrive, so a high cap
		// costs nothing when idle.
		dynamicconfig.TransferProcessorMaxPollRPS.Key():   queueReadsPerSecond,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():      queueReadsPerSecond,
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key(): queueReadsPerSecond,
		dynamicconfig.OutboundProcessorMaxPollRPS.Key():   queueReadsPerSecond,
		// One host serves every task queue: with one partition, tasks and
		// pollers always meet in the same place, with no forwarding between
		// partitions (which matching rate-limits at 10/s). No difference
		// measured for one workflow at a time; it keeps a single node simple.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
		// As the Temporal CLI's dev server: a mutable-state cache sized for
		// one machine (the default of 128k entries is for a fleet), ...
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 8096,
		// ... visibility queries that the Web UI issues in bursts not rate
		// limited at 10/s, ...
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// ... new search attributes visible at once, and persistence QPS
		// raised to pay for that cache being bypassed.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		dynamicconfig.FrontendPersistenceMaxQPS.Key():               10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():                45000,
		// The worker service never stops the SDK workers of its scanners
		// and parent-close-policy processor (a TODO upstream): after Stop
		// they keep polling the dead frontend, hold its graceful stop for
		// its full second, and would poll a later server on the same port.
		// A dev server needs neither: the scanners garbage-collect old task
		// queue and history rows, and without the processor history applies
		// parent close policies itself, however many children there are.
		dynamicconfig.TaskQueueScannerEnabled.Key():       false,
		dynamicconfig.HistoryScannerEnabled.Key():         false,
		dynamicconfig.EnableParentClosePolicyWorker.Key(): false,
	}
}

// sqlConfig describes the SQLite database: a private in-memory one, or the
// file at dbFile.
func sqlConfig(dbFile string) (*config.SQL, error) {
	if dbFile == "" {
		name, err := randomName()
		if err != nil {
			return nil, err
		}
		return &config.SQL{
			PluginName:   sqliteplugin.PluginName,
			DatabaseName: name,
			// Shared cache lets every service's connection see one database;
			// the plugin creates the schema when it opens it.
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		}, nil
	}
	path, err := filepath.Abs(dbFile)
	if err != nil {
		return nil, fmt.Errorf("database file %q: %w", dbFile, err)
	}
	// The plugin builds a "file:PATH?params" URI without escaping.
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("database file %q: path must not contain '?' or '#'", dbFile)
	}
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: path,
		ConnectAttributes: map[string]string{
			"mode": "rwc",
			// WAL appends instead of rewriting pages: fewer fsyncs per
			// workflow task. NORMAL sync in WAL mode survives a process crash
			// (only an OS crash can lose the last commits), which is the
			// durability a dev server needs.
			"journal_mode": "wal",
			"synchronous":  "normal",
			// Wait instead of failing when another process (a sqlite3 shell,
			// a backup) holds the lock for a moment.
			"busy_timeout": "5000",
		},
	}, nil
}

func randomName() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("name in-memory database: %w", err)
	}
	return "barrage-" + hex.EncodeToString(b), nil
}

// ensureSchema creates the schema in a database file that does not exist
// yet or is empty; an existing database is left as it is.
func ensureSchema(cfg *config.SQL) error {
	if cfg.ConnectAttributes["mode"] == "memory" {
		return nil
	}
	path := cfg.DatabaseName
	empty, err := isEmptyDB(path)
	if err != nil || !empty {
		return err
	}
	// Only the server's user: without a fleet token, histories hold runs'
	// ingest tokens.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("database directory: %w", err)
	}
	if err := sqliteschema.SetupSchema(cfg); err != nil {
		return fmt.Errorf("create schema in %s: %w", path, err)
	}
	return nil
}

// isEmptyDB reports whether the database at path holds nothing yet. In WAL
// mode the data may sit in path-wal alone: the plugin never closes its
// connection, so SQLite checkpoints only as the WAL grows.
func isEmptyDB(path string) (bool, error) {
	for _, p := range []string{path, path + "-wal"} {
		info, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return false, fmt.Errorf("database file %s: %w", p, err)
		case info.Size() > 0:
			return false, nil
		}
	}
	return true, nil
}

// createNamespaces registers the namespaces that are missing, directly in
// the database, so that they exist before the frontend serves its first call.
func createNamespaces(cfg *config.SQL, names []string) error {
	nss := make([]*sqliteschema.NamespaceConfig, 0, len(names))
	for _, name := range names {
		ns, err := sqliteschema.NewNamespaceConfig(clusterName, name, false, nil)
		if err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		ns.Detail.Config.Retention = timestamp.DurationFromDays(retentionDays)
		nss = append(nss, ns)
	}
	if err := sqliteschema.CreateNamespaces(cfg, nss...); err != nil {
		return fmt.Errorf("create namespaces: %w", err)
	}
	return nil
}

// namespaceNames lists the main namespace first, then the extra ones,
// without blanks or duplicates.
func namespaceNames(main string, extra []string) []string {
	names := []string{main}
	for _, n := range extra {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// ports holds where each Temporal service listens.
type ports struct {
	frontend endpoint
	// frontendHTTP is Temporal's HTTP API (and Nexus endpoints), on the
	// frontend's IP: the Temporal CLI's dev server has it too, and without
	// it the frontend warns at every start.
	frontendHTTP endpoint
	history      endpoint
	matching     endpoint
	worker       endpoint
}

// pickFree picks a free port for a Temporal service; a test replaces it to
// hand out a port that is taken.
var pickFree = freePort

// pickPorts gives the frontend's HTTP API a free port on the frontend's IP,
// and history, matching and worker free loopback ports.
func pickPorts(frontend endpoint) (ports, error) {
	p := ports{frontend: frontend}
	for _, e := range []*endpoint{&p.frontendHTTP, &p.history, &p.matching, &p.worker} {
		ip := loopback
		if e == &p.frontendHTTP {
			ip = frontend.bindIP
		}
		port, err := pickFree(ip)
		if err != nil {
			return ports{}, err
		}
		*e = endpoint{bindIP: ip, port: port}
	}
	return p, nil
}

func (p ports) byService() map[primitives.ServiceName]endpoint {
	return map[primitives.ServiceName]endpoint{
		primitives.FrontendService: p.frontend,
		primitives.HistoryService:  p.history,
		primitives.MatchingService: p.matching,
		primitives.WorkerService:   p.worker,
	}
}

// staticHosts pins every service to its one address: no gossip ring, no
// membership ports.
func (p ports) staticHosts() map[primitives.ServiceName]static.Hosts {
	hosts := make(map[primitives.ServiceName]static.Hosts, 4)
	for svc, e := range p.byService() {
		hosts[svc] = static.SingleLocalHost(e.dial())
	}
	return hosts
}

// serverConfig is the static configuration of a single-node server.
func serverConfig(p ports, sql *config.SQL) *config.Config {
	var cfg config.Config
	cfg.Global.Membership = config.Membership{MaxJoinDuration: 5 * time.Second, BroadcastAddress: loopback}
	// Global.Metrics stays nil (no metrics listener, no registry) and
	// Global.PProf.Port 0 (no pprof listener).
	cfg.Persistence = config.Persistence{
		DefaultStore:     storeName,
		VisibilityStore:  storeName,
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{storeName: {SQL: sql}},
	}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             p.frontend.dial(),
				HTTPAddress:            p.frontendHTTP.dial(),
			},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"
	cfg.Services = make(map[string]config.Service, 4)
	for svc, e := range p.byService() {
		rpc := config.RPC{GRPCPort: e.port, BindOnIP: e.bindIP}
		if svc == primitives.FrontendService {
			rpc.HTTPPort = p.frontendHTTP.port
		}
		cfg.Services[string(svc)] = config.Service{RPC: rpc}
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The worker service's system workflows (scheduler, batcher) reach the
	// frontend through this.
	cfg.PublicClient.HostPort = p.frontend.dial()
	return &cfg
}
