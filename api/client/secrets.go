package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// SecretInfo is a stored secret's name and history; its value is never
// sent back.
type SecretInfo struct {
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// SetSecret stores (or replaces) the secret name (runner or admin).
func (c *Client) SetSecret(ctx context.Context, name, value string) error {
	return c.doJSON(ctx, http.MethodPut, "/secrets/"+url.PathEscape(name), "", map[string]string{"value": value}, nil)
}

// ListSecrets lists the secrets' names.
func (c *Client) ListSecrets(ctx context.Context) ([]SecretInfo, error) {
	var out struct {
		Secrets []SecretInfo `json:"secrets"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/secrets", "", nil, &out)
	return out.Secrets, err
}

// DeleteSecret removes a secret (admin).
func (c *Client) DeleteSecret(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/secrets/"+url.PathEscape(name), "", nil, nil)
}

// RunSecrets fetches, with a run's token, the values of the secrets its
// scenario reads: what a worker fills {{ secret.NAME }} with.
func (c *Client) RunSecrets(ctx context.Context, runID, token string) (map[string]string, error) {
	var out struct {
		Secrets map[string]string `json:"secrets"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/ingest/runs/"+url.PathEscape(runID)+"/secrets", token, nil, &out)
	return out.Secrets, err
}
