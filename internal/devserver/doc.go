// Package devserver runs a small Temporal server inside the current process:
// frontend, history, matching and worker services on loopback ports, one
// history shard, SQLite persistence (in memory or in a file), and optionally
// the Temporal Web UI. It is what `barrage run` uses when no --temporal
// address is given, and what tests use as "the real Temporal".
//
// Usage:
//
//  1. Start a server. The zero Options give an in-memory server on
//     127.0.0.1:7233 with the namespace "default"; use Listen "127.0.0.1:0"
//     to let the system pick the port (tests, or several servers at once):
//
//     srv, err := devserver.Start(ctx, devserver.Options{Listen: "127.0.0.1:0"})
//
//     Start returns once the frontend answers DescribeNamespace, or with an
//     error when ctx ends first.
//
//  2. Point SDK clients and workers at it:
//
//     c, err := client.Dial(client.Options{HostPort: srv.FrontendAddr(), Namespace: srv.Namespace()})
//
//  3. To keep workflows across restarts, give a DBFile. A new (or empty)
//     file gets the schema; an existing one is reused, so a server started
//     again on the same file carries its open workflows on.
//
//  4. To look at workflow histories in a browser, set UIListen (for example
//     "127.0.0.1:8233") and open http://UIAddr()/.
//
//  5. Stop workers and close clients first, then call Stop. Stop takes
//     tens of milliseconds (up to a second while workers still long-poll),
//     is bounded by a few seconds, and returns ErrStopTimeout when Temporal
//     does not finish in time.
//
// Temporal's own logs go to Options.Logger at Warn level and above only, and
// not at all once Stop has begun (a stop interrupts polls and calls, and
// Temporal warns, even errs, about each).
//
// The server never phones home: the version check is off; history, matching
// and worker bind to free loopback ports; the frontend (gRPC, plus Temporal's
// HTTP API on a free port of the same IP) and the UI follow Listen and
// UIListen; metrics and pprof are not started. The task-queue and history
// scanners and the parent-close-policy system worker are off, and the one
// history shard may read its task queues 1000 times a second instead of 20
// (see dynamicConfig).
//
// Limitations, all inherited from the Temporal packages:
//
//   - The SQLite plugin keeps one connection per database in a process-wide
//     pool and never closes it. An in-memory database therefore lives until
//     the process exits (its memory is not given back on Stop), and a
//     database file stays open after Stop. Restarting on the same file in
//     the same process reuses that connection, which is what makes restarts
//     work.
//   - A database file comes with its -wal and -shm companions (WAL mode);
//     since the connection is never closed, much of the data stays in the
//     -wal file until SQLite checkpoints it. Copy all three, or none.
//   - Two running servers must not share a DBFile: both would claim the one
//     history shard. Nothing here prevents it.
//   - Ports chosen for ":0" are picked by binding and releasing them just
//     before Temporal binds them again, so another process can, rarely, take
//     one in between. Start then fails with an error (frontend, history,
//     matching, worker) — or, for the UI, whose server exits the process on
//     a bind failure, the process ends.
//   - Temporal calls Fatal on unrecoverable errors; here that panics. During
//     Start the panic is turned into an error; later, in Temporal's own
//     goroutines, it ends the process, as it would in a standalone server.
//   - Temporal honours OTEL_TRACES_EXPORTER from the environment; setting it
//     makes the embedded server export traces.
//   - Temporal does not close all of its internal gRPC client connections
//     on Stop, nor the UI its connection to the frontend: each Start/Stop
//     cycle leaves about 30 idle goroutines behind (measured), one or two of
//     them redialling the stopped frontend with backoff.
package devserver
