package client

import (
	"context"
	"net/http"
	"net/url"
)

// CreateSchedule creates a scheduled run (runner).
func (c *Client) CreateSchedule(ctx context.Context, req ScheduleRequest) (*Schedule, error) {
	var out Schedule
	if err := c.doJSON(ctx, http.MethodPost, "/schedules", "", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListSchedules lists the schedules, newest first.
func (c *Client) ListSchedules(ctx context.Context) ([]Schedule, error) {
	var out struct {
		Schedules []Schedule `json:"schedules"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/schedules", "", nil, &out)
	return out.Schedules, err
}

// GetSchedule returns one schedule.
func (c *Client) GetSchedule(ctx context.Context, id string) (*Schedule, error) {
	var out Schedule
	if err := c.doJSON(ctx, http.MethodGet, "/schedules/"+url.PathEscape(id), "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PauseSchedule pauses a schedule's firings (runner).
func (c *Client) PauseSchedule(ctx context.Context, id string) (*Schedule, error) {
	return c.steerSchedule(ctx, id, "pause")
}

// ResumeSchedule resumes a paused schedule (runner).
func (c *Client) ResumeSchedule(ctx context.Context, id string) (*Schedule, error) {
	return c.steerSchedule(ctx, id, "resume")
}

func (c *Client) steerSchedule(ctx context.Context, id, verb string) (*Schedule, error) {
	var out Schedule
	if err := c.doJSON(ctx, http.MethodPost, "/schedules/"+url.PathEscape(id)+"/"+verb, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSchedule deletes a schedule; the runs it started stay (runner).
func (c *Client) DeleteSchedule(ctx context.Context, id string) error {
	return c.doJSON(ctx, http.MethodDelete, "/schedules/"+url.PathEscape(id), "", nil, nil)
}
