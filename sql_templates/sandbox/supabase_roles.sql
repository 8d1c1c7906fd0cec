-- "Supabase-like" cluster: roles, schemas and privileges as a Supabase project has them.
-- Run as the bootstrap superuser `supabase_admin` (Supabase's own superuser) in database
-- `postgres`. Passwords arrive as SCRAM-SHA-256 verifiers computed client-side.

-- Follows supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql:
-- `postgres` is the project owner's role but NOT a superuser.
CREATE ROLE postgres LOGIN NOSUPERUSER CREATEROLE CREATEDB REPLICATION BYPASSRLS
    PASSWORD {postgres_verifier};
ALTER ROLE postgres SET search_path = "$user", public, extensions;

-- Same file: the API roles PostgREST switches to, and the role it logs in as.
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
-- Recent Supabase grants the API roles to postgres WITH ADMIN OPTION (dashboard role management).
GRANT anon, authenticated, service_role TO postgres WITH ADMIN OPTION;

-- Supabase docs "Timeouts": anon 3s, authenticated 8s (postgres: none, 2 min global cap).
-- NB: role settings apply at login; PostgREST applies them itself after SET ROLE.
ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';

-- PostgREST docs "In-Database Configuration": the exposed (API) schemas live on authenticator.
ALTER ROLE authenticator SET pgrst.db_schemas = 'public, graphql_public';
-- Supabase's supautils lets postgres ALTER ROLE authenticator SET pgrst.* (reserved role, but
-- `pgrst.*` is in supautils.privileged_role_allowed_configs: supabase/postgres
-- ansible/files/postgresql_config/supautils.conf.j2). Vanilla PostgreSQL has no such hook: the
-- same end state for pgrst.db_pre_request (supabase.read-bound) is the SET privilege on the
-- parameter plus, on 16+, ADMIN on authenticator (without membership).
DO $$
BEGIN
    GRANT SET ON PARAMETER "pgrst.db_pre_request" TO postgres;
    IF current_setting('server_version_num')::integer >= 160000 THEN
        EXECUTE 'GRANT authenticator TO postgres WITH ADMIN TRUE, INHERIT FALSE, SET FALSE';
    END IF;
END
$$;

-- The project database is owned by postgres, which therefore owns schema public
-- (pg_database_owner) and can create tables in it.
ALTER DATABASE postgres OWNER TO postgres;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
-- Since 2026 new Supabase projects no longer grant API roles on new public tables by default:
-- every table below gets explicit GRANTs.

-- initial-schema.sql: the extensions schema (extensions are installed there, not in public).
CREATE SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO postgres, anon, authenticated, service_role;

-- graphql_public (pg_graphql's API schema), exposed through PostgREST.
CREATE SCHEMA graphql_public;
GRANT USAGE ON SCHEMA graphql_public TO postgres, anon, authenticated, service_role;

-- supabase/postgres migrations/db/init-scripts/00000000000001-auth-schema.sql (minimal subset).
CREATE ROLE supabase_auth_admin NOINHERIT CREATEROLE LOGIN NOREPLICATION;
CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
CREATE TABLE auth.users (
    id          uuid PRIMARY KEY,
    aud         varchar(255),
    role        varchar(255),
    email       varchar(255) UNIQUE,
    created_at  timestamptz DEFAULT now(),
    updated_at  timestamptz DEFAULT now()
);
ALTER TABLE auth.users OWNER TO supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO postgres, anon, authenticated, service_role;
GRANT ALL ON auth.users TO postgres;

-- postgres_fdw "as on Supabase". Vanilla PostgreSQL lets only a superuser CREATE EXTENSION
-- postgres_fdw (it is not a trusted extension); Supabase lets `postgres` do it through
-- supautils' "privileged extensions", which run the CREATE as the superuser. We reproduce the
-- end state: the extension pre-created by supabase_admin in schema extensions, and USAGE on the
-- wrapper granted to postgres (WITH GRANT OPTION, as the privileged-extension owner gets).
-- `postgres` can then CREATE SERVER and user mappings, and postgres_fdw's non-superuser rules
-- hold: every user mapping needs a password and the remote must actually ask for it.
CREATE EXTENSION postgres_fdw WITH SCHEMA extensions;
GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO postgres WITH GRANT OPTION;
