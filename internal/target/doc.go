// Package target is Barrage's built-in HTTP target: a small, fast server to aim
// load at in demos, tests and benchmarks, with knobs for latency, errors and
// whole-server freezes, and an exact count of what it served.
//
// Usage:
//
//  1. Build a server with New(Config{...}); the zero Config is a plain, fast
//     server (no latency, no errors, no freeze).
//  2. Serve it: it is an http.Handler (httptest.NewServer(s), or http.Server).
//  3. Drive load at it; read Served or Stats (or GET /_/stats) and compare
//     with what the load generator reports. Served is exact: a response is
//     counted just before its status line is written.
//  4. Change its behaviour mid-run with SetConfig (or POST /_/config), and
//     start a new count with Reset (or POST /_/reset).
//
// # Load endpoints
//
// Every path outside /_/ is a load endpoint: counted in Served, delayed by the
// default latency unless it chooses its own, failed with a 500 at the
// configured error rate (decided on arrival, before any side effect), and held
// by a freeze. Any method is answered like GET. Errors are JSON {"error": "..."}.
//
//	GET /                   200, a ~90-byte text body with Content-Length; unknown
//	                        paths answer the same. This is the hot path: no locks,
//	                        no allocations of its own, one atomic add.
//	/delay?ms=N             200 after N ms (decimals or a Go duration such as 1.5ms), 0..60000
//	/latency?dist=D&...     200 after a delay drawn from D (milliseconds or Go durations):
//	                          dist=fixed&ms=5
//	                          dist=uniform&min=1&max=10
//	                          dist=lognormal&median=5&sigma=0.5
//	/status/{code}          that status, 200..599 (1xx are interim in HTTP: 400)
//	/error?rate=R           500 with probability R (0..1, default 1), else 200
//	/bytes/{n}              n bytes (0..10 MiB) of a printable pattern
//	/echo                   the request as JSON: method, path, host, query, headers,
//	                        header_count, body, body_bytes (body at most 10 MiB)
//	POST /login             JSON {"user","password"} -> {"token","user"}; any user name
//	                        with password "secret"; 400 on bad JSON or a missing field,
//	                        401 on a wrong password
//	GET /me                 Authorization: Bearer <token> -> {"user"}; 401 for a token
//	                        this server did not issue (or forgot)
//	GET /items              {"items":[...10 items...],"count":10}
//	GET /items/{id}         one item, ids 1..10; 404 otherwise
//	/cookie/set?k=v&...     sets each parameter as a cookie (Path=/)
//	/cookie/get             {"cookies":{...}} as received
//	/redirect/{n}           302 to /redirect/{n-1}, the last to /: n redirects (0..100)
//	/once/{id}              200 the first time an id comes, 409 after (counted in
//	                        /_/stats once_ids and once_repeated: one-time data)
//
// Login tokens are random hex kept in a bounded map (Config.MaxTokens, default
// 1,000,000); when it is full the oldest token is forgotten, so memory stays
// bounded and only very old sessions get 401s.
//
// # Control endpoints
//
// Paths under /_/ are never counted, delayed, failed or frozen:
//
//	GET  /_/health          {"status":"ok"}
//	GET  /_/stats           {"served","by_status":{"200":n},"abandoned","started_at",
//	                        "counting_since","freeze":{...}|null,"config":{...}}
//	POST /_/reset           zero the counters and restart the freeze phase; returns stats
//	GET  /_/config          the configuration in force
//	POST /_/config          change it: {"latency":"fixed:5ms","error_rate":0.1,
//	                        "freeze":"200ms","freeze_every":"600ms"}; absent fields keep
//	                        their value, "freeze":"0s" turns the freeze off
//
// # Freeze
//
// With FreezeFor and FreezeEvery set, the server pauses for FreezeFor at the end
// of every FreezeEvery period, periods counted from the server's start or its
// last Reset (see FreezeSchedule). A request arriving in a freeze waits for its
// end; a request whose response falls due in a freeze waits too, so nothing is
// answered while frozen. /_/stats and Server.FreezeSchedule expose the windows.
//
// # Randomness
//
// Error and latency draws come from lock-free streams seeded by Config.Seed:
// with a given seed, N requests draw the same N numbers however they
// interleave, so the number of injected errors in a run is reproducible.
package target

// EndpointsHelp lists the endpoints for the command's -h output.
const EndpointsHelp = `load endpoints (counted in /_/stats; any method answers like GET):
  GET /                  200, small text body (unknown paths answer the same)
  /delay?ms=N            200 after N ms (0..60000; decimals or a duration like 1.5ms)
  /latency?dist=fixed&ms=5
  /latency?dist=uniform&min=1&max=10
  /latency?dist=lognormal&median=5&sigma=0.5
                         200 after a delay drawn from that distribution (ms)
  /status/{code}         that status code (200..599)
  /error?rate=0.1        500 with that probability (default 1), else 200
  /bytes/{n}             n bytes, up to 10 MiB
  /echo                  the request as JSON (method, path, query, headers, body)
  POST /login            {"user":"ann","password":"secret"} -> {"token":"...","user":"ann"}
                         (any user; the password must be "secret")
  GET /me                with Authorization: Bearer <token> -> {"user":"ann"}, else 401
  GET /items             a list of 10 items;  GET /items/{id}: one item (1..10)
  /cookie/set?k=v        sets cookie k=v;  /cookie/get: the cookies received, as JSON
  /redirect/{n}          n 302 redirects, then /
  /once/{id}             200 the first time an id comes, 409 after (stats: once_repeated)

control endpoints (never counted, delayed, failed or frozen):
  GET /_/health          liveness
  GET /_/stats           {"served":n,"by_status":{"200":n},"started_at":...,"freeze":...}
  POST /_/reset          zero the counters and restart the freeze phase
  GET|POST /_/config     read or change {"latency","error_rate","freeze","freeze_every"}

The default --latency applies to every load endpoint except /delay and /latency.
--freeze D --freeze-every P pauses the whole server for D at the end of every
period P, counted from start (or the last reset).
`
