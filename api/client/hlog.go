package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Hlog copies a run's latency.hlog — its latency as HdrHistogram's
// interval log, values in µs — into w as it arrives. A run with no data
// yet is an *Error with Status 409 and Code "no_data". A log cut short by
// the server is an error, not a short copy (w may then hold part of it).
func (c *Client) Hlog(ctx context.Context, id string, w io.Writer) error {
	path := "/runs/" + url.PathEscape(id) + "/hlog"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return apiError(resp.StatusCode, data)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("GET %s: read answer: %w", path, err)
	}
	return nil
}
