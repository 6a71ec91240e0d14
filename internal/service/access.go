package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/store"
)

// TokenPrefix starts every API token, so that a leaked one is easy to
// recognise (and to search for).
const TokenPrefix = "brg_"

// Access manages API tokens and the audit log.
type Access struct {
	store store.Store
	Log   *slog.Logger // where audit lines that cannot be stored are reported

	mu      sync.Mutex
	touched map[string]time.Time // when each token's last use was stored
}

// NewAccess returns the token service over st.
func NewAccess(st store.Store) *Access {
	return &Access{store: st, touched: map[string]time.Time{}}
}

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// HashToken is what the store keeps of a token. Tokens are 256 random
// bits, so a plain SHA-256 cannot be reversed by guessing.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateToken makes a token for name with role and returns it: the only
// time it is ever shown. by is who asked, for the audit log.
func (a *Access) CreateToken(ctx context.Context, name, role, by string) (string, *store.Token, error) {
	if !tokenName.MatchString(name) {
		return "", nil, refuse(Invalid, "invalid_field", "name", "a token name is 1-64 letters, digits and _.@- (starting with a letter or digit), got %q", name)
	}
	if !store.ValidRole(role) {
		return "", nil, refuse(Invalid, "invalid_field", "role", "role must be viewer, runner or admin, got %q", role)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("new token: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	t := &store.Token{Name: name, Role: role, Hash: HashToken(token), CreatedBy: by}
	if err := a.store.CreateToken(ctx, t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return "", nil, refuse(Conflict, "conflict", "name", "a token named %s exists; revoke it first", name)
		}
		return "", nil, err
	}
	a.Audit(ctx, by, "token.create", name, "role "+role)
	return token, t, nil
}

// RevokeToken deletes the token called name.
func (a *Access) RevokeToken(ctx context.Context, name, by string) error {
	if err := a.store.RevokeToken(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return refuse(NotFound, "not_found", "name", "no token is named %s", name)
		}
		return err
	}
	a.Audit(ctx, by, "token.revoke", name, "")
	return nil
}

// ListTokens lists the tokens, never the tokens themselves.
func (a *Access) ListTokens(ctx context.Context) ([]store.Token, error) {
	return a.store.ListTokens(ctx)
}

// ErrBadToken is a token the store does not know (or revoked).
var ErrBadToken = errors.New("unknown or revoked token")

// touchEvery bounds how often a token's last use is written: a client
// polling every second should not write a row every second.
const touchEvery = time.Minute

// Verify returns the stored token for a presented one.
func (a *Access) Verify(ctx context.Context, token string) (*store.Token, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return nil, ErrBadToken
	}
	t, err := a.store.TokenByHash(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadToken
	}
	if err != nil {
		return nil, err
	}
	now := time.Now()
	a.mu.Lock()
	due := now.Sub(a.touched[t.Name]) >= touchEvery
	if due {
		a.touched[t.Name] = now
	}
	a.mu.Unlock()
	if due {
		// Best effort: a failed write of the last use must not refuse the call.
		_ = a.store.TouchToken(ctx, t.Name, now)
		t.LastUsed = now
	}
	return t, nil
}

// Audit appends to the audit log. The action has happened by then, so a
// line that cannot be written does not undo it; it is logged as an error.
func (a *Access) Audit(ctx context.Context, actor, action, subject, detail string) {
	if actor == "" {
		actor = "anonymous"
	}
	e := &store.AuditEntry{Actor: actor, Action: action, Subject: subject, Detail: detail}
	if err := a.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil && a.Log != nil {
		a.Log.Error("audit log", "err", err, "actor", actor, "action", action, "subject", subject)
	}
}

// RoleAllows reports whether role may do what needs at least need.
func RoleAllows(role, need string) bool {
	return roleRank[role] > 0 && roleRank[role] >= roleRank[need]
}

var roleRank = map[string]int{store.RoleViewer: 1, store.RoleRunner: 2, store.RoleAdmin: 3}
