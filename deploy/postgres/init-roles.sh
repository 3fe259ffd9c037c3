#!/bin/sh
# Run by the postgres image at its first start (docker-entrypoint-initdb.d):
# the roles of deploy/postgres/roles.sql, with the passwords compose passes.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v auth_password="$AUTH_DB_PASSWORD" -v chat_password="$CHAT_DB_PASSWORD" \
  -f /etc/metadome/roles.sql
