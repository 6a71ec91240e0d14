package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Roles a token can have, from the least allowed.
const (
	RoleViewer = "viewer" // reads
	RoleRunner = "runner" // also creates scenarios and runs, aborts and ramps
	RoleAdmin  = "admin"  // also deletes, and manages tokens
)

// ValidRole reports whether r is one of the roles above.
func ValidRole(r string) bool { return r == RoleViewer || r == RoleRunner || r == RoleAdmin }

// Token is an API token as stored: its hash, never the token.
type Token struct {
	Name      string
	Role      string
	Hash      []byte
	CreatedAt time.Time
	CreatedBy string
	LastUsed  time.Time // zero: never
}

// AuditEntry is one line of the audit log: Actor (a token's name, or
// "cli" for the command line on the server's database) did Action
// ("run.create", "token.revoke", ...) to Subject.
type AuditEntry struct {
	ID      int64
	At      time.Time
	Actor   string
	Action  string
	Subject string
	Detail  string
}

// Secret is a stored secret's name and history, without its value.
type Secret struct {
	Name      string
	UpdatedAt time.Time
	UpdatedBy string
}

func (s *sqlStore) CreateToken(ctx context.Context, t *Token) error {
	if t.Name == "" || !ValidRole(t.Role) || len(t.Hash) == 0 {
		return fmt.Errorf("create token %q: a name, a role and a hash are required", t.Name)
	}
	t.CreatedAt = orNow(t.CreatedAt)
	_, err := s.w.ExecContext(ctx, "INSERT INTO api_tokens (name, role, hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
		t.Name, t.Role, t.Hash, t.CreatedAt, t.CreatedBy)
	if violated(err) == uniqueViolation {
		return fmt.Errorf("create token %s: the name is taken: %w", t.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.Name, err)
	}
	return nil
}

const tokenCols = "name, role, hash, created_at, created_by, last_used" // #nosec G101 -- column names, no credential

func scanToken(row scanner) (Token, error) {
	var t Token
	err := row.Scan(&t.Name, &t.Role, &t.Hash, timeCol{&t.CreatedAt}, &t.CreatedBy, timeCol{&t.LastUsed})
	return t, err
}

func (s *sqlStore) TokenByHash(ctx context.Context, hash []byte) (*Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, "SELECT "+tokenCols+" FROM api_tokens WHERE hash = $1", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return &t, nil
}

func (s *sqlStore) TouchToken(ctx context.Context, name string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, "UPDATE api_tokens SET last_used = $2 WHERE name = $1", name, orNow(at))
	return oneRow(res, err, "touch token "+name)
}

func (s *sqlStore) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+tokenCols+" FROM api_tokens ORDER BY name")
	out, err := collect(rows, err, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

func (s *sqlStore) RevokeToken(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, "DELETE FROM api_tokens WHERE name = $1", name)
	return oneRow(res, err, "revoke token "+name)
}

func (s *sqlStore) AppendAudit(ctx context.Context, e *AuditEntry) error {
	e.At = orNow(e.At)
	err := s.w.QueryRowContext(ctx, "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5) RETURNING id",
		e.At, e.Actor, e.Action, e.Subject, e.Detail).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("append audit %s %s: %w", e.Action, e.Subject, err)
	}
	return nil
}

func (s *sqlStore) ListAudit(ctx context.Context, after int64, limit int) ([]AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id, at, actor, action, subject, detail FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
		after, clampLimit(limit))
	out, err := collect(rows, err, func(row scanner) (AuditEntry, error) {
		var e AuditEntry
		err := row.Scan(&e.ID, timeCol{&e.At}, &e.Actor, &e.Action, &e.Subject, &e.Detail)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

func (s *sqlStore) PutSecret(ctx context.Context, name string, sealed []byte, by string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO secrets (name, sealed, updated_at, updated_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		name, blob(sealed), orNow(at), by)
	if err != nil {
		return fmt.Errorf("put secret %s: %w", name, err)
	}
	return nil
}

func (s *sqlStore) GetSecret(ctx context.Context, name string) ([]byte, error) {
	var sealed []byte
	err := s.r.QueryRowContext(ctx, "SELECT sealed FROM secrets WHERE name = $1", name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("secret %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return sealed, nil
}

func (s *sqlStore) ListSecrets(ctx context.Context) ([]Secret, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT name, updated_at, updated_by FROM secrets ORDER BY name")
	out, err := collect(rows, err, func(row scanner) (Secret, error) {
		var sc Secret
		err := row.Scan(&sc.Name, timeCol{&sc.UpdatedAt}, &sc.UpdatedBy)
		return sc, err
	})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return out, nil
}

func (s *sqlStore) DeleteSecret(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, "DELETE FROM secrets WHERE name = $1", name)
	return oneRow(res, err, "delete secret "+name)
}

// oneRow turns a write that changed no row into ErrNotFound.
func oneRow(res sql.Result, err error, what string) error {
	n, err := affected(res, err)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
