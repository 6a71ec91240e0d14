package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func (s *sqlStore) CreateScenario(ctx context.Context, sc *Scenario) error {
	if sc.ID == "" {
		return fmt.Errorf("create scenario: empty id")
	}
	created := orNow(sc.CreatedAt)
	err := inTx(ctx, s.w, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO scenarios (id, latest_version, created_at) VALUES ($1, 1, $2)",
			sc.ID, created); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO scenario_versions (scenario_id, version, name, document, created_at)
			VALUES ($1, 1, $2, $3, $4)`, sc.ID, sc.Name, blob(sc.Document), created)
		return err
	})
	if violated(err) == uniqueViolation {
		return fmt.Errorf("create scenario %s: id already used: %w", sc.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create scenario %s: %w", sc.ID, err)
	}
	sc.Version, sc.CreatedAt = 1, created
	return nil
}

func (s *sqlStore) UpdateScenario(ctx context.Context, id, name string, document []byte) (*Scenario, error) {
	sc := &Scenario{ID: id, Name: name, Document: readBlob(document), CreatedAt: orNow(time.Time{})}
	err := inTx(ctx, s.w, func(tx *sql.Tx) error {
		// The row lock taken here (on SQLite, the write lock BEGIN took)
		// makes concurrent updates queue, so each gets its own version.
		err := tx.QueryRowContext(ctx, "UPDATE scenarios SET latest_version = latest_version + 1 WHERE id = $1 RETURNING latest_version",
			id).Scan(&sc.Version)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO scenario_versions (scenario_id, version, name, document, created_at)
			VALUES ($1, $2, $3, $4, $5)`, id, sc.Version, name, blob(document), sc.CreatedAt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update scenario %s: %w", id, err)
	}
	return sc, nil
}

const scenarioCols = "v.scenario_id, v.version, v.name, v.document, v.created_at"

func scanScenario(row scanner) (Scenario, error) {
	var sc Scenario
	err := row.Scan(&sc.ID, &sc.Version, &sc.Name, &sc.Document, timeCol{&sc.CreatedAt})
	sc.Document = readBlob(sc.Document)
	return sc, err
}

func (s *sqlStore) GetScenario(ctx context.Context, id string, version int) (*Scenario, error) {
	q := "SELECT " + scenarioCols + " FROM scenario_versions v WHERE v.scenario_id = $1 AND v.version = $2"
	args := []any{id, version}
	if version == 0 {
		q = "SELECT " + scenarioCols + ` FROM scenarios s
			JOIN scenario_versions v ON v.scenario_id = s.id AND v.version = s.latest_version WHERE s.id = $1`
		args = args[:1]
	}
	sc, err := scanScenario(s.r.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get scenario %s version %d: %w", id, version, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get scenario %s version %d: %w", id, version, err)
	}
	return &sc, nil
}

func (s *sqlStore) ListScenarios(ctx context.Context, limit, offset int) ([]Scenario, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+scenarioCols+` FROM scenarios s
		JOIN scenario_versions v ON v.scenario_id = s.id AND v.version = s.latest_version
		ORDER BY v.created_at DESC, v.scenario_id DESC LIMIT $1 OFFSET $2`, clampLimit(limit), max(offset, 0))
	ss, err := collect(rows, err, scanScenario)
	if err != nil {
		return nil, fmt.Errorf("list scenarios: %w", err)
	}
	return ss, nil
}

func (s *sqlStore) DeleteScenario(ctx context.Context, id string) error {
	n, err := affected(s.w.ExecContext(ctx, "DELETE FROM scenarios WHERE id = $1", id))
	if violated(err) == foreignKeyViolation {
		return fmt.Errorf("delete scenario %s: runs or schedules use it: %w", id, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("delete scenario %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete scenario %s: %w", id, ErrNotFound)
	}
	return nil
}
