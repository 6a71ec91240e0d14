-- Who may use the API (tokens: only a hash of each is kept), what they
-- did (the audit log: append-only, its trigger refuses updates and
-- deletes), and the values scenarios reference as {{ secret.NAME }}
-- (sealed with the server's secret key; never stored in clear).
CREATE TABLE api_tokens (
    name       TEXT        PRIMARY KEY,
    role       TEXT        NOT NULL CHECK (role IN ('viewer', 'runner', 'admin')),
    hash       BYTEA       NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT        NOT NULL,
    last_used  TIMESTAMPTZ
);

CREATE TABLE audit_log (
    id      BIGSERIAL   PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    actor   TEXT        NOT NULL,
    action  TEXT        NOT NULL,
    subject TEXT        NOT NULL,
    detail  TEXT        NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE secrets (
    name       TEXT        PRIMARY KEY,
    sealed     BYTEA       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT        NOT NULL
);
