package api

import (
	"context"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/tsdb"
)

// serviceMetrics is the service's own health, on GET /metrics. Each server
// has its own registry, so that several servers can live in one process.
type serviceMetrics struct {
	reg         *prometheus.Registry
	apiLatency  *prometheus.HistogramVec
	ingested    *prometheus.CounterVec
	ingestLag   prometheus.Histogram
	foldSeconds prometheus.Histogram
	foldLag     prometheus.Histogram
	compacted   prometheus.Counter
}

func newServiceMetrics(st store.Store, x *tsdb.Exporter) *serviceMetrics {
	m := &serviceMetrics{
		reg: prometheus.NewRegistry(),
		apiLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "barrage_api_request_duration_seconds", Help: "Latency of API requests by route, method and status code.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route", "method", "code"}),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "barrage_ingest_snapshots_total", Help: "Snapshots received from workers, by result (stored, duplicate, rejected).",
		}, []string{"result"}),
		ingestLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "barrage_ingest_lag_seconds", Help: "Time from a snapshot's end to its arrival at the server.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18),
		}),
		foldSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "barrage_fold_duration_seconds", Help: "Time to fold one interval across shards and store it.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		foldLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "barrage_fold_lag_seconds", Help: "Time from an interval's end to its fold.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18),
		}),
	}
	m.compacted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "barrage_snapshots_compacted_total", Help: "Raw snapshots deleted after their runs' retention, their intervals folded.",
	})
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "barrage_active_runs", Help: "Runs queued or running.",
	}, func() float64 { return activeRuns(st) })
	m.reg.MustRegister(m.apiLatency, m.ingested, m.ingestLag, m.foldSeconds, m.foldLag, m.compacted, active,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if x != nil {
		m.reg.MustRegister(exportMetrics(x)...)
	}
	return m
}

func activeRuns(st store.Store) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n := 0
	for _, status := range []store.Status{store.StatusQueued, store.StatusRunning} {
		runs, err := st.ListRuns(ctx, store.RunFilter{Status: status, Limit: 1000})
		if err != nil {
			return -1
		}
		n += len(runs)
	}
	return float64(n)
}

// observe records every API request's latency under its route pattern.
func (m *serviceMetrics) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	m.apiLatency.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Observe(time.Since(start).Seconds())
}

func (m *serviceMetrics) handler() gin.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}

// exportMetrics are the VictoriaMetrics export's counters and lag.
func exportMetrics(x *tsdb.Exporter) []prometheus.Collector {
	counter := func(name, help string, v func(tsdb.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v(x.Stats())) })
	}
	return []prometheus.Collector{
		counter("barrage_tsdb_pushes_total", "Pushes to VictoriaMetrics tried.", func(s tsdb.Stats) uint64 { return s.Pushes }),
		counter("barrage_tsdb_push_errors_total", "Pushes to VictoriaMetrics that failed (each is retried from the store).", func(s tsdb.Stats) uint64 { return s.PushErrors }),
		counter("barrage_tsdb_pushed_bytes_total", "Text pushed to VictoriaMetrics, before compression.", func(s tsdb.Stats) uint64 { return s.Bytes }),
		counter("barrage_tsdb_pushed_samples_total", "Samples pushed to VictoriaMetrics.", func(s tsdb.Stats) uint64 { return s.Samples }),
		counter("barrage_tsdb_run_deletes_total", "Runs whose series were deleted from VictoriaMetrics and pushed again, to correct an interval folded again after its push.", func(s tsdb.Stats) uint64 { return s.Deletes }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "barrage_tsdb_export_lag_seconds", Help: "How long ago the oldest folded interval not yet in VictoriaMetrics ended (0: all pushed).",
		}, func() float64 { return x.Stats().Lag.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "barrage_tsdb_runs_behind", Help: "Runs with folded intervals not yet in VictoriaMetrics.",
		}, func() float64 { return float64(x.Stats().Runs) }),
	}
}
