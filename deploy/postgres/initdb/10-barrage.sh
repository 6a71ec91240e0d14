#!/bin/sh
# Creates the roles and databases of the compose stack. The postgres image
# runs this once, when its data volume is empty (the first `docker compose
# up`); changing it later needs `docker compose down -v`, which deletes the
# data.
#
#   barrage   owns the database "barrage" (Barrage's scenarios, runs, series, reports)
#   temporal  may create databases: Temporal's auto-setup creates "temporal"
#             and "temporal_visibility" and applies their schema on start
set -eu

: "${BARRAGE_DB_PASSWORD:?set BARRAGE_DB_PASSWORD for the postgres service}"
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD for the postgres service}"

# psql variables (:'name') quote the passwords as SQL literals.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	-v barrage_password="$BARRAGE_DB_PASSWORD" \
	-v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE barrage LOGIN PASSWORD :'barrage_password';
CREATE DATABASE barrage OWNER barrage;
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
SQL
