package store

import (
	"bytes"
	"fmt"
	"testing"
)

func testTokens(t *testing.T, s Store) {
	ctx := t.Context()
	a := &Token{Name: "ci", Role: RoleRunner, Hash: []byte{1, 2, 3}, CreatedAt: t0, CreatedBy: "cli"}
	mustNil(t, s.CreateToken(ctx, a), "create")
	wantErr(t, s.CreateToken(ctx, &Token{Name: "ci", Role: RoleViewer, Hash: []byte{9}}), ErrConflict, "same name")
	if err := s.CreateToken(ctx, &Token{Name: "other", Role: RoleViewer, Hash: []byte{1, 2, 3}}); err == nil {
		t.Fatal("a second token with the same hash was stored")
	}
	if err := s.CreateToken(ctx, &Token{Name: "x", Role: "root", Hash: []byte{7}}); err == nil {
		t.Fatal("a token with an unknown role was stored")
	}
	got, err := s.TokenByHash(ctx, []byte{1, 2, 3})
	mustNil(t, err, "by hash")
	if got.Name != "ci" || got.Role != RoleRunner || !got.CreatedAt.Equal(stored(t0)) || got.CreatedBy != "cli" || !got.LastUsed.IsZero() {
		t.Fatalf("token = %+v", got)
	}
	_, err = s.TokenByHash(ctx, []byte{3, 2, 1})
	wantErr(t, err, ErrNotFound, "unknown hash")
	mustNil(t, s.TouchToken(ctx, "ci", t0.Add(90e9)), "touch")
	wantErr(t, s.TouchToken(ctx, "nobody", t0), ErrNotFound, "touch unknown")
	mustNil(t, s.CreateToken(ctx, &Token{Name: "admin", Role: RoleAdmin, Hash: []byte{4}}), "create admin")
	list, err := s.ListTokens(ctx)
	mustNil(t, err, "list")
	if len(list) != 2 || list[0].Name != "admin" || list[1].Name != "ci" || !list[1].LastUsed.Equal(stored(t0.Add(90e9))) {
		t.Fatalf("list = %+v", list)
	}
	mustNil(t, s.RevokeToken(ctx, "ci"), "revoke")
	wantErr(t, s.RevokeToken(ctx, "ci"), ErrNotFound, "revoke twice")
	_, err = s.TokenByHash(ctx, []byte{1, 2, 3})
	wantErr(t, err, ErrNotFound, "revoked token")
	mustNil(t, s.CreateToken(ctx, &Token{Name: "ci", Role: RoleViewer, Hash: []byte{5}}), "a revoked name is free again")
}

func testAudit(t *testing.T, s Store) {
	ctx := t.Context()
	for i := range 5 {
		e := &AuditEntry{At: t0, Actor: "alice", Action: "run.create", Subject: fmt.Sprintf("run_%d", i), Detail: "d"}
		mustNil(t, s.AppendAudit(ctx, e), "append")
		if e.ID == 0 || !e.At.Equal(stored(t0)) {
			t.Fatalf("appended %+v", e)
		}
	}
	all, err := s.ListAudit(ctx, 0, 0)
	mustNil(t, err, "list")
	if len(all) != 5 || all[0].Subject != "run_0" || all[4].Subject != "run_4" || all[0].Actor != "alice" {
		t.Fatalf("audit = %+v", all)
	}
	rest, err := s.ListAudit(ctx, all[2].ID, 10)
	mustNil(t, err, "list after")
	if len(rest) != 2 || rest[0].ID != all[3].ID {
		t.Fatalf("after %d: %+v", all[2].ID, rest)
	}
	var sq *sqlStore
	switch v := s.(type) {
	case *sqliteStore:
		sq = &v.sqlStore
	case *postgresStore:
		sq = &v.sqlStore
	default:
		t.Fatalf("unknown store %T", s)
	}
	if _, err := sq.w.ExecContext(ctx, "UPDATE audit_log SET actor = 'mallory'"); err == nil {
		t.Fatal("the audit log was updated")
	}
	if _, err := sq.w.ExecContext(ctx, "DELETE FROM audit_log"); err == nil {
		t.Fatal("the audit log was deleted")
	}
	again, err := s.ListAudit(ctx, 0, 0)
	mustNil(t, err, "list again")
	if len(again) != 5 || again[0].Actor != "alice" {
		t.Fatalf("audit after the refused writes = %+v", again)
	}
}

func testSecrets(t *testing.T, s Store) {
	ctx := t.Context()
	mustNil(t, s.PutSecret(ctx, "API_KEY", []byte{0, 1, 2}, "alice", t0), "put")
	mustNil(t, s.PutSecret(ctx, "API_KEY", binary(), "bob", t0.Add(1e9)), "replace")
	mustNil(t, s.PutSecret(ctx, "B", []byte{9}, "alice", t0), "put B")
	got, err := s.GetSecret(ctx, "API_KEY")
	mustNil(t, err, "get")
	if !bytes.Equal(got, binary()) {
		t.Fatalf("sealed = %x", got)
	}
	_, err = s.GetSecret(ctx, "NONE")
	wantErr(t, err, ErrNotFound, "unknown secret")
	list, err := s.ListSecrets(ctx)
	mustNil(t, err, "list")
	if len(list) != 2 || list[0].Name != "API_KEY" || list[0].UpdatedBy != "bob" || !list[0].UpdatedAt.Equal(stored(t0.Add(1e9))) {
		t.Fatalf("secrets = %+v", list)
	}
	mustNil(t, s.DeleteSecret(ctx, "B"), "delete")
	wantErr(t, s.DeleteSecret(ctx, "B"), ErrNotFound, "delete twice")
}
