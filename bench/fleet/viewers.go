package main

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/barrage/barrage/api"
	"github.com/barrage/barrage/api/client"
)

// viewers are the live-metrics subscribers of a run. The first one's lags
// (receive time minus the interval's end) are kept.
type viewers struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	lags   []int64 // ms, of the first viewer's data events
	events []int   // data events per viewer
	ended  []bool  // whether the stream ended with its end event
}

// watch starts n subscribers of run's live metrics; each reconnects (with
// Last-Event-ID) until the stream's end event or ctx's end.
func watch(ctx context.Context, base, runID string, n int) (*viewers, error) {
	v := &viewers{events: make([]int, n), ended: make([]bool, n)}
	for i := range n {
		c, err := client.New(base) // a connection of its own, as a browser's
		if err != nil {
			return nil, err
		}
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			v.follow(ctx, c, runID, i)
		}()
	}
	return v, nil
}

func (v *viewers) follow(ctx context.Context, c *client.Client, runID string, i int) {
	lastID, ended := "", false
	for ctx.Err() == nil && !ended {
		err := c.Metrics(ctx, runID, lastID, func(ev client.Event) bool {
			at := time.Now().UnixMilli()
			lastID = ev.ID
			switch ev.Name {
			case "", "message":
				var p api.Point
				if json.Unmarshal(ev.Data, &p) != nil {
					return true
				}
				v.mu.Lock()
				v.events[i]++
				if i == 0 {
					v.lags = append(v.lags, at-p.EndAt)
				}
				v.mu.Unlock()
			case "end":
				ended = true
				return false
			}
			return true
		})
		if err != nil && ctx.Err() == nil {
			if client.StatusOf(err) >= 400 {
				progress("viewer %d: %v", i, err)
				return
			}
			sleep(ctx, 200*time.Millisecond)
		}
	}
	v.mu.Lock()
	v.ended[i] = ended
	v.mu.Unlock()
}

// wait waits for every viewer to end, at most d.
func (v *viewers) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		v.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// lag returns the first viewer's lag quantile q (0..1) in ms, -1 with no data.
func (v *viewers) lag(q float64) int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.lags) == 0 {
		return -1
	}
	s := slices.Clone(v.lags)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// lagsInOrder returns the first viewer's lags in ms, interval by interval.
func (v *viewers) lagsInOrder() []int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.lags)
}
