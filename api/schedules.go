package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
)

// Schedules returns the schedule service: the server's FireSchedule
// activity starts each firing's run through it.
func (s *Server) Schedules() *service.Schedules { return s.schedsvc }

func (s *Server) scheduleRoutes(r *gin.Engine, viewer, runner gin.HandlerFunc) {
	r.POST("/schedules", runner, s.createSchedule)
	r.GET("/schedules", viewer, s.listSchedules)
	r.GET("/schedules/:id", viewer, s.getSchedule)
	r.POST("/schedules/:id/pause", runner, s.pauseSchedule(true))
	r.POST("/schedules/:id/resume", runner, s.pauseSchedule(false))
	// Runner, not admin: deleting a schedule stops its firings and keeps
	// every run it started, as pausing does.
	r.DELETE("/schedules/:id", runner, s.deleteSchedule)
}

func (s *Server) createSchedule(c *gin.Context) {
	var req wire.ScheduleRequest
	if !bindJSON(c, &req) {
		return
	}
	sc, err := s.schedsvc.Create(c, req, actor(c))
	if err != nil {
		failService(c, err, "schedule")
		return
	}
	when := sc.Cron
	if when == "" {
		when = "every " + sc.Every.String()
	}
	s.audit(c, "schedule.create", sc.ID, fmt.Sprintf("scenario %s, %s, target %s, %d workers", sc.ScenarioID, when, sc.TargetBaseURL, sc.WorkerCount))
	c.JSON(http.StatusCreated, s.toScheduleJSON(c, sc))
}

func (s *Server) listSchedules(c *gin.Context) {
	list, err := s.cfg.Store.ListSchedules(c)
	if err != nil {
		failErr(c, err, "schedules")
		return
	}
	out := make([]wire.Schedule, len(list))
	for i := range list {
		out[i] = s.toScheduleJSON(c, &list[i])
	}
	c.JSON(http.StatusOK, gin.H{"schedules": out})
}

func (s *Server) getSchedule(c *gin.Context) {
	sc, err := s.schedsvc.Get(c, c.Param("id"))
	if err != nil {
		failService(c, err, "schedule "+c.Param("id"))
		return
	}
	c.JSON(http.StatusOK, s.toScheduleJSON(c, sc))
}

func (s *Server) pauseSchedule(paused bool) gin.HandlerFunc {
	action := map[bool]string{true: "schedule.pause", false: "schedule.resume"}[paused]
	return func(c *gin.Context) {
		sc, err := s.schedsvc.Pause(c, c.Param("id"), paused, actor(c))
		if err != nil {
			failService(c, err, "schedule "+c.Param("id"))
			return
		}
		s.audit(c, action, sc.ID, "")
		c.JSON(http.StatusOK, s.toScheduleJSON(c, sc))
	}
}

func (s *Server) deleteSchedule(c *gin.Context) {
	id := c.Param("id")
	if err := s.schedsvc.Delete(c, id); err != nil {
		failService(c, err, "schedule "+id)
		return
	}
	s.audit(c, "schedule.delete", id, "")
	c.Status(http.StatusNoContent)
}

// toScheduleJSON is a schedule as the API shows it, with its next firing
// (from Temporal; absent when Temporal cannot say) and its newest run.
func (s *Server) toScheduleJSON(ctx context.Context, sc *store.Schedule) wire.Schedule {
	out := wire.Schedule{
		ScheduleID: sc.ID, ScenarioID: sc.ScenarioID, Cron: sc.Cron, TargetBaseURL: sc.TargetBaseURL, Workers: sc.WorkerCount,
		Tags: sc.Tags, Baseline: sc.Baseline, Paused: sc.Paused, CreatedAt: sc.CreatedAt.UTC(), CreatedBy: sc.CreatedBy,
		TemporalScheduleID: "barrage-schedule-" + sc.ID,
	}
	if sc.Every > 0 {
		out.Every = sc.Every.String()
	}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	if s.cfg.TemporalUI != "" {
		out.TemporalUIURL = fmt.Sprintf("%s/namespaces/%s/schedules/%s", strings.TrimSuffix(s.cfg.TemporalUI, "/"),
			url.PathEscape(s.cfg.Namespace), url.PathEscape(out.TemporalScheduleID))
	}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if st, err := s.schedsvc.State(dctx, sc.ID); err == nil {
		out.Paused = st.Paused
		if !st.Next.IsZero() {
			t := st.Next.UTC()
			out.NextRunAt = &t
		}
	}
	if r, err := s.schedsvc.LastRun(ctx, sc.ID); err == nil && r != nil {
		rj := s.toRunJSON(r)
		s.withSummary(ctx, r, &rj)
		out.LastRun = &wire.ScheduledRun{RunID: r.ID, Status: rj.Status, CreatedAt: rj.CreatedAt, ThresholdsFailed: rj.ThresholdsFailed}
	}
	return out
}
