package scenario

// Scenario is what a user writes: the requests one virtual user makes, the load
// to apply, and the conditions that decide whether the run passed. It is read
// from YAML (the CLI) or JSON (the API) with the same field names; both go
// through Parse, which rejects unknown fields and names the bad field's path and
// line in every error.
type Scenario struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`

	// The seed's load fields: VirtualUsers (closed model) or RatePerSecond (open
	// model) for DurationSeconds, reached linearly over RampUpSeconds. Load, when
	// given, replaces them with any other profile.
	VirtualUsers    int     `yaml:"virtual_users,omitempty" json:"virtual_users,omitempty"`
	RatePerSecond   float64 `yaml:"rate_per_second,omitempty" json:"rate_per_second,omitempty"`
	DurationSeconds float64 `yaml:"duration_seconds,omitempty" json:"duration_seconds,omitempty"`
	RampUpSeconds   float64 `yaml:"ramp_up_seconds,omitempty" json:"ramp_up_seconds,omitempty"`
	// MaxVUs caps the concurrent iterations of the open model; an arrival that
	// finds every one of them busy is counted as a dropped iteration.
	MaxVUs int `yaml:"max_vus,omitempty" json:"max_vus,omitempty"`
	// PreAllocatedVUs (open model) are started, with a keep-alive connection
	// each, before the first arrival, so that a burst does not have to dial
	// in the middle of the measurement.
	PreAllocatedVUs int   `yaml:"pre_allocated_vus,omitempty" json:"pre_allocated_vus,omitempty"`
	Load            *Load `yaml:"load,omitempty" json:"load,omitempty"`
	// Iterations ends the run after this many iterations in all, shared
	// by every VU of every shard (k6's shared-iterations);
	// IterationsPerVU after this many per VU (per-vu-iterations). The
	// profile's duration caps either (iterations.go).
	Iterations      int `yaml:"iterations,omitempty" json:"iterations,omitempty"`
	IterationsPerVU int `yaml:"iterations_per_vu,omitempty" json:"iterations_per_vu,omitempty"`

	Variables map[string]string `yaml:"variables,omitempty" json:"variables,omitempty"`
	// Env holds the values templates read as {{ env.KEY }}: defaults in the
	// scenario, overridden per run (barrage run -e KEY=VALUE, "env" on
	// POST /runs). They are stored with the run and shown in its report:
	// a value to keep out of both is a secret ({{ secret.NAME }}).
	Env     map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	Feeders []Feeder          `yaml:"feeders,omitempty" json:"feeders,omitempty"`
	// Steps is what every virtual user does; Flows, instead, gives several
	// user flows, each VU running one of them (flows.go). Exactly one of
	// the two is given.
	Steps []Step `yaml:"steps,omitempty" json:"steps,omitempty"`
	Flows []Flow `yaml:"flows,omitempty" json:"flows,omitempty"`

	Thresholds []Threshold `yaml:"thresholds,omitempty" json:"thresholds,omitempty"`
	AbortOn    *AbortOn    `yaml:"abort_on,omitempty" json:"abort_on,omitempty"`
	HTTP       HTTPOptions `yaml:"http,omitempty" json:"http,omitzero"`
	// GracefulStop bounds how long the end of a run (or a ramp-down) waits for
	// iterations in flight, so that every request sent is also recorded.
	GracefulStop Duration `yaml:"graceful_stop,omitempty" json:"graceful_stop,omitzero"`
	// Trace adds a W3C traceparent header to every request (a step's own
	// trace overrides it); see docs/scenarios.md for how trace IDs are made.
	Trace bool `yaml:"trace,omitempty" json:"trace,omitempty"`
}

// Step is one request of an iteration.
type Step struct {
	Name         string            `yaml:"name" json:"name"`
	Method       string            `yaml:"method,omitempty" json:"method,omitempty"`
	URLTemplate  string            `yaml:"url_template" json:"url_template"`
	Headers      map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	BodyTemplate string            `yaml:"body_template,omitempty" json:"body_template,omitempty"`
	// Form, Multipart and BodyFile are the other bodies (body.go); a step
	// has at most one body. BodyFile is read relative to the scenario file
	// by LoadFile, which replaces it with BodyBase64.
	Form       map[string]string `yaml:"form,omitempty" json:"form,omitempty"`
	Multipart  *Multipart        `yaml:"multipart,omitempty" json:"multipart,omitempty"`
	BodyFile   string            `yaml:"body_file,omitempty" json:"body_file,omitempty"`
	BodyBase64 string            `yaml:"body_base64,omitempty" json:"body_base64,omitempty"`
	// Gzip compresses the request body (Content-Encoding: gzip).
	Gzip bool `yaml:"gzip,omitempty" json:"gzip,omitempty"`
	// Trace, when set, overrides the scenario's trace for this step.
	Trace *bool `yaml:"trace,omitempty" json:"trace,omitempty"`
	// ThinkTimeMS is the seed's constant pause after the step; ThinkTime is the
	// general form. At most one of them may be given.
	ThinkTimeMS *float64   `yaml:"think_time_ms,omitempty" json:"think_time_ms,omitempty"`
	ThinkTime   *ThinkTime `yaml:"think_time,omitempty" json:"think_time,omitempty"`
	Extract     []Extract  `yaml:"extract,omitempty" json:"extract,omitempty"`
	Checks      []Check    `yaml:"checks,omitempty" json:"checks,omitempty"`

	// Per-step options (StepOptions in stepopts.go).
	// Timeout bounds this step's requests instead of http.timeout.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitzero"`
	// Tags are free key/values carried into the report's per-step table.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Group names a group of steps for the report.
	Group string `yaml:"group,omitempty" json:"group,omitempty"`
	// Retries sends a failed request again, up to this many times, after
	// RetryBackoff, doubling each time; every attempt is counted.
	Retries      int      `yaml:"retries,omitempty" json:"retries,omitempty"`
	RetryBackoff Duration `yaml:"retry_backoff,omitempty" json:"retry_backoff,omitzero"`
	// SkipIf and OnlyIf name a variable: the step is skipped when it is
	// true (SkipIf) or not true (OnlyIf); a value is true unless it is
	// empty, "0" or "false".
	SkipIf string `yaml:"skip_if,omitempty" json:"skip_if,omitempty"`
	OnlyIf string `yaml:"only_if,omitempty" json:"only_if,omitempty"`
}

// ThinkTime is a pause drawn from a distribution after each execution of a step.
//
//	constant:    value
//	uniform:     min, max
//	normal:      mean, stddev (draws below zero become zero)
//	exponential: mean
type ThinkTime struct {
	Distribution string   `yaml:"distribution" json:"distribution"`
	Value        Duration `yaml:"value,omitempty" json:"value,omitzero"`
	Min          Duration `yaml:"min,omitempty" json:"min,omitzero"`
	Max          Duration `yaml:"max,omitempty" json:"max,omitzero"`
	Mean         Duration `yaml:"mean,omitempty" json:"mean,omitzero"`
	StdDev       Duration `yaml:"stddev,omitempty" json:"stddev,omitzero"`
}

// Load is the general load profile: exactly one of Stages or the named
// profiles. Targets are virtual users in the closed model and iterations per
// second in the open model.
type Load struct {
	Model  string  `yaml:"model,omitempty" json:"model,omitempty"` // closed (default) or open
	Start  float64 `yaml:"start,omitempty" json:"start,omitempty"`
	Stages []Stage `yaml:"stages,omitempty" json:"stages,omitempty"`

	Constant            *ConstantLoad `yaml:"constant,omitempty" json:"constant,omitempty"`
	RampUp              *RampUpLoad   `yaml:"ramp_up,omitempty" json:"ramp_up,omitempty"`
	Step                *StepLoad     `yaml:"step,omitempty" json:"step,omitempty"`
	Spike               *SpikeLoad    `yaml:"spike,omitempty" json:"spike,omitempty"`
	ConstantArrivalRate *ConstantLoad `yaml:"constant_arrival_rate,omitempty" json:"constant_arrival_rate,omitempty"`
	RampingArrivalRate  *RampingLoad  `yaml:"ramping_arrival_rate,omitempty" json:"ramping_arrival_rate,omitempty"`
}

// Stage moves the target linearly to Target over Duration.
type Stage struct {
	Duration Duration `yaml:"duration" json:"duration"`
	Target   float64  `yaml:"target" json:"target"`
}

// ConstantLoad holds Target for Duration.
type ConstantLoad struct {
	Target   float64  `yaml:"target" json:"target"`
	Duration Duration `yaml:"duration" json:"duration"`
}

// RampUpLoad goes from zero to Target over Ramp and holds it until Duration.
type RampUpLoad struct {
	Target   float64  `yaml:"target" json:"target"`
	Ramp     Duration `yaml:"ramp" json:"ramp"`
	Duration Duration `yaml:"duration" json:"duration"`
}

// StepLoad starts at Start and adds Size every Every, Steps times; each level is
// held for Every.
type StepLoad struct {
	Start float64  `yaml:"start" json:"start"`
	Size  float64  `yaml:"size" json:"size"`
	Every Duration `yaml:"every" json:"every"`
	Steps int      `yaml:"steps" json:"steps"`
}

// SpikeLoad holds Base, rises to Peak at At over Rise, holds it for Hold, falls
// back over Rise and holds Base until Duration.
type SpikeLoad struct {
	Base     float64  `yaml:"base" json:"base"`
	Peak     float64  `yaml:"peak" json:"peak"`
	At       Duration `yaml:"at" json:"at"`
	Rise     Duration `yaml:"rise,omitempty" json:"rise,omitzero"`
	Hold     Duration `yaml:"hold" json:"hold"`
	Duration Duration `yaml:"duration" json:"duration"`
}

// RampingLoad is an arrival rate that starts at Start and follows Stages.
type RampingLoad struct {
	Start  float64 `yaml:"start,omitempty" json:"start,omitempty"`
	Stages []Stage `yaml:"stages" json:"stages"`
}

// Feeder supplies per-iteration (or per-VU) data from CSV or JSON records.
type Feeder struct {
	Name string `yaml:"name" json:"name"`
	// File is read relative to the scenario file by LoadFile, which replaces it
	// with Data so that a scenario sent to a server carries its records.
	File   string `yaml:"file,omitempty" json:"file,omitempty"`
	Format string `yaml:"format,omitempty" json:"format,omitempty"` // csv or json; default from the file extension
	// Data holds the records inline: every record has the same fields.
	Data []map[string]string `yaml:"data,omitempty" json:"data,omitempty"`
	// Mode is how records are handed out: circular (default: in order, wrapping
	// around), sequential (in order, each record once; a VU that needs one after
	// the last stops), random.
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Per says when a VU takes a record: iteration (default) or vu (once, for
	// the VU's whole life, e.g. one account per VU).
	Per string `yaml:"per,omitempty" json:"per,omitempty"`
	// Partition gives shard i of n its own disjoint slice of the records.
	Partition bool `yaml:"partition,omitempty" json:"partition,omitempty"`
}

// Extract takes a value from a response into a variable for later steps.
// Exactly one of JSON, Regex and Header is given.
type Extract struct {
	Var    string `yaml:"var" json:"var"`
	JSON   string `yaml:"json,omitempty" json:"json,omitempty"`     // a JSONPath into the body, e.g. $.token
	Regex  string `yaml:"regex,omitempty" json:"regex,omitempty"`   // on the body; the first capture group, else the whole match
	Header string `yaml:"header,omitempty" json:"header,omitempty"` // a response header's first value
	// Default is used when nothing matches; without it a miss counts as a
	// failed check of the step and the variable is set to "".
	Default *string `yaml:"default,omitempty" json:"default,omitempty"`
}

// Check is one condition on a response, counted per step. Exactly one kind is
// given; JSON goes with Equals or Exists.
type Check struct {
	Name         string     `yaml:"name,omitempty" json:"name,omitempty"`
	Status       StatusList `yaml:"status,omitempty" json:"status,omitempty"`
	BodyContains string     `yaml:"body_contains,omitempty" json:"body_contains,omitempty"`
	BodyRegex    string     `yaml:"body_regex,omitempty" json:"body_regex,omitempty"`
	JSON         string     `yaml:"json,omitempty" json:"json,omitempty"`
	Equals       any        `yaml:"equals,omitempty" json:"equals,omitempty"`
	Exists       *bool      `yaml:"exists,omitempty" json:"exists,omitempty"`
	LatencyUnder Duration   `yaml:"latency_under,omitempty" json:"latency_under,omitzero"`
}

// AbortOn ends a run as failed when its error rate over the last
// WindowSeconds, across all workers, reaches ErrorRate.
type AbortOn struct {
	ErrorRate     float64 `yaml:"error_rate" json:"error_rate"`
	WindowSeconds float64 `yaml:"window_seconds,omitempty" json:"window_seconds,omitempty"`
	// MinRequests keeps a handful of early errors from aborting a run.
	MinRequests int `yaml:"min_requests,omitempty" json:"min_requests,omitempty"`
}

// HTTPOptions tune the client every virtual user uses.
type HTTPOptions struct {
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitzero"` // per request; default 30s
	// MaxRedirects is how many redirects are followed (default 10); set
	// NoRedirects to get the 3xx response itself.
	MaxRedirects       int               `yaml:"max_redirects,omitempty" json:"max_redirects,omitempty"`
	NoRedirects        bool              `yaml:"no_redirects,omitempty" json:"no_redirects,omitempty"`
	HTTP2              bool              `yaml:"http2,omitempty" json:"http2,omitempty"` // use HTTP/2 over TLS when the server offers it
	InsecureSkipVerify bool              `yaml:"insecure_skip_verify,omitempty" json:"insecure_skip_verify,omitempty"`
	NoCookies          bool              `yaml:"no_cookies,omitempty" json:"no_cookies,omitempty"` // no per-VU cookie jar
	Headers            map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`       // sent with every step
}
