-- One PostgreSQL role per app, each allowed its own schema only: auth-api
-- cannot read the chat schema, and message-writer cannot read auth.users
-- (password hashes, sessions). Run once by the database's owner, before the
-- apps first start as these roles, and again after a password change:
--
--   psql "postgres://owner@host/metadome" \
--     -v auth_password="$AUTH_DB_PASSWORD" -v chat_password="$CHAT_DB_PASSWORD" \
--     -f deploy/postgres/roles.sql
--
-- Then give auth-api DATABASE_URL=postgres://metadome_auth:…@host/metadome
-- and message-writer postgres://metadome_chat:…@host/metadome; each runs its
-- own migrations in its own schema. Safe to run again. A database where one
-- user ran both apps so far: this also hands the existing tables, sequences
-- and types of each schema to its role (the migration note in the README).
\set ON_ERROR_STOP on

select format('create role metadome_auth login password %L', :'auth_password')
  where not exists (select from pg_roles where rolname = 'metadome_auth') \gexec
select format('alter role metadome_auth login password %L', :'auth_password') \gexec
select format('create role metadome_chat login password %L', :'chat_password')
  where not exists (select from pg_roles where rolname = 'metadome_chat') \gexec
select format('alter role metadome_chat login password %L', :'chat_password') \gexec

select format('grant connect on database %I to metadome_auth, metadome_chat', current_database()) \gexec
select format('revoke all on database %I from public', current_database()) \gexec
revoke create on schema public from public;

create schema if not exists auth authorization metadome_auth;
create schema if not exists chat authorization metadome_chat;
alter schema auth owner to metadome_auth;
alter schema chat owner to metadome_chat;
revoke all on schema auth from public;
revoke all on schema chat from public;

-- What an earlier single user created in each schema.
select format('alter table %I.%I owner to %I', schemaname, tablename, case schemaname when 'auth' then 'metadome_auth' else 'metadome_chat' end)
  from pg_tables where schemaname in ('auth', 'chat') \gexec
select format('alter sequence %I.%I owner to %I', sequence_schema, sequence_name, case sequence_schema when 'auth' then 'metadome_auth' else 'metadome_chat' end)
  from information_schema.sequences where sequence_schema in ('auth', 'chat') \gexec
select format('alter type %I.%I owner to %I', n.nspname, t.typname, case n.nspname when 'auth' then 'metadome_auth' else 'metadome_chat' end)
  from pg_type t join pg_namespace n on n.oid = t.typnamespace
  where n.nspname in ('auth', 'chat') and t.typtype = 'e' \gexec
