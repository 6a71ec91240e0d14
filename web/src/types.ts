// Data contracts shared with the Go side: docs/report-schema.md and
// api/openapi.json. Every field marked optional may be missing from older
// reports or servers; readers ignore fields they do not know.

export type RunStatus = "queued" | "running" | "completed" | "failed" | "aborted";

export interface Latency {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export interface Totals {
  requests: number;
  errors: number;
  error_rate: number;
  rps: number;
  bytes_sent: number;
  bytes_received: number;
  dropped_iterations: number;
  checks_passed: number;
  checks_failed: number;
  /** iterations that ran all their steps */
  iterations?: number;
  iterations_per_second?: number;
}

export interface StepReport {
  /** the user flow of the step ("" or absent without flows) */
  flow?: string;
  group?: string;
  name: string;
  method: string;
  url: string;
  requests: number;
  errors: number;
  error_rate: number;
  latency_ms: Latency;
  status_codes: Record<string, number>;
  checks_passed?: number;
  checks_failed?: number;
  /** a few failed responses per error class, secrets redacted */
  samples?: ResponseSample[];
  /** the step's slowest traced requests, slowest first */
  slowest_traces?: SlowTrace[];
}

export interface FlowReport {
  name: string;
  weight: number;
  share: number;
  steps: string[];
  requests: number;
  errors: number;
  error_rate: number;
  rps: number;
  latency_ms: Latency;
  checks_passed: number;
  checks_failed: number;
  request_share: number;
}

export interface ResponseSample {
  class: string;
  status: number;
  error?: string;
  headers?: Record<string, string>;
  body: string;
  truncated: boolean;
  partial?: boolean;
  shard: number;
}

export interface SlowTrace {
  trace_id: string;
  span_id: string;
  latency_ms: number;
  status: number;
  class?: string;
  shard: number;
}

export interface WorkerReport {
  id: string;
  shards: number[];
  requests: number;
}

/** One step's figures in one interval. */
export interface StepPoint {
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
}

/** One interval of report.series; also the shape of a live Point. */
export interface SeriesPoint {
  t: number;
  rps: number;
  error_rate: number;
  p50: number;
  p95: number;
  p99: number;
  vus: number;
  workers: number;
  requests?: number;
  errors?: number;
  p90?: number;
  max?: number;
  target_vus?: number;
  dropped_iterations?: number;
  /** iterations that ended in the interval, all their steps run */
  iterations?: number;
  bytes_sent?: number;
  bytes_received?: number;
  status_codes?: Record<string, number>;
  errors_by_class?: Record<string, number>;
  vus_by_worker?: Record<string, number> | null;
  steps?: StepPoint[];
}

/** A live-metrics event (GET /runs/{id}/metrics, unnamed event). */
export interface LivePoint extends SeriesPoint {
  interval: number;
  end_at_ms?: number;
  folded_at_ms?: number;
  revision?: number;
  revised?: boolean;
}

export interface ThresholdResult {
  expression: string;
  step: string;
  flow?: string;
  passed: boolean;
  actual: number;
  limit?: number;
  error?: string;
  no_baseline?: boolean;
}

export interface RunEvent {
  t: number;
  kind: string;
  detail: string;
}

export interface HistogramBucket {
  le_ms: number;
  count: number;
}

export interface MeasurementGap {
  worker: string;
  shard: number;
  from_t: number;
  to_t: number;
  estimated_requests: number;
  reason: string;
}

export interface PercentilePoint {
  percentile: number;
  ms: number;
}

export interface Report {
  run_id: string;
  scenario_id: string;
  scenario?: string;
  status: RunStatus | string;
  started_at?: string;
  ended_at?: string;
  target_base_url?: string;
  worker_count?: number;
  temporal_workflow_id?: string;
  temporal_ui_url?: string;
  baseline_run_id?: string;
  totals?: Partial<Totals>;
  latency_ms?: Partial<Latency>;
  status_codes?: Record<string, number>;
  errors_by_class?: Record<string, number>;
  steps?: StepReport[];
  /** the scenario's user flows, each over all its steps (absent without flows) */
  flows?: FlowReport[];
  workers?: WorkerReport[];
  series?: SeriesPoint[];
  thresholds?: ThresholdResult[];
  events?: RunEvent[];
  histogram?: HistogramBucket[];
  measurement_gaps?: MeasurementGap[];
  percentiles?: PercentilePoint[];
  scenario_yaml?: string;
}

export interface MetricDelta {
  metric: string;
  unit: string;
  base: number;
  head: number;
  delta: number;
  delta_pct: number;
  better: boolean;
  worse: boolean;
}

export interface RunRef {
  run_id: string;
  scenario: string;
  status: string;
}

export interface Comparison {
  base: RunRef;
  head: RunRef;
  metrics: MetricDelta[];
  steps: { flow?: string; name: string; metrics: MetricDelta[] }[];
  /** each user flow in both runs, over all its steps (absent without flows) */
  flows?: { name: string; metrics: MetricDelta[] }[];
}

/** The object embedded (gzip, base64) in a report file. */
export interface EmbeddedData {
  report: Report;
  baseline?: Report | null;
  comparison?: Comparison | null;
  generated_at?: string;
}

export interface RunSummary {
  requests: number;
  rps: number;
  p95_ms: number;
  error_rate: number;
  thresholds_passed?: boolean;
}

export interface Run {
  run_id: string;
  scenario_id: string;
  scenario_version?: number;
  scenario_name?: string;
  status: RunStatus | string;
  target_base_url?: string;
  worker_count?: number;
  tags?: Record<string, string>;
  reason?: string;
  created_at?: string;
  started_at?: string;
  ended_at?: string;
  temporal_workflow_id?: string;
  temporal_ui_url?: string;
  baseline_run_id?: string;
  elastic?: boolean;
  max_workers?: number;
  summary?: RunSummary;
  /** the schedule whose firing started the run */
  schedule_id?: string;
  /** the run finished and failed its thresholds (baseline ones included) */
  thresholds_failed?: boolean;
}

export interface ScheduledRun {
  run_id: string;
  status: RunStatus | string;
  created_at: string;
  thresholds_failed: boolean;
}

export interface Schedule {
  schedule_id: string;
  scenario_id: string;
  cron?: string;
  every?: string;
  target_base_url?: string;
  workers: number;
  tags: Record<string, string>;
  baseline?: string;
  paused: boolean;
  created_at: string;
  created_by?: string;
  next_run_at?: string;
  temporal_schedule_id: string;
  temporal_ui_url?: string;
  last_run?: ScheduledRun;
}

export interface RunList {
  runs: Run[];
  next: string;
}

export interface ScenarioRef {
  scenario_id: string;
  version: number;
  name: string;
  created_at: string;
}

export interface StoredScenario extends ScenarioRef {
  scenario: unknown;
  yaml?: string;
}
