-- Runs each statement staged in pg_temp.fdw_wizard_secret. Only this block's text reaches the
-- server log: log_statement prints top-level statements, never the ones a PL/pgSQL EXECUTE runs.
-- * An error would print the failing nested statement in its CONTEXT line (to the client and,
--   at log_min_error_statement, to the log): it is re-raised here with its message and
--   SQLSTATE only, the secret masked should a message ever quote it.
-- * pg_stat_statements with track = 'all' and track_utility = on (both superuser-only
--   settings) stores the nested statement's text as written: its entries are removed at once
--   when this role may call pg_stat_statements_reset (Supabase grants it to postgres); the
--   caller counts what is left (secret_leftovers.sql) and says so.
DO $fdw_wizard$
DECLARE
    staged record;
    entry record;
    pgss_schema name;
    reset_fn oid;
BEGIN
    FOR staged IN SELECT statement, secret FROM pg_temp.fdw_wizard_secret LOOP
        BEGIN
            EXECUTE staged.statement;
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION USING
                MESSAGE = replace(SQLERRM, staged.secret, '********'),
                ERRCODE = SQLSTATE;
        END;
    END LOOP;
    IF current_setting('pg_stat_statements.track', true) IS NULL THEN
        RETURN;  -- the library is not loaded: nothing records statements
    END IF;
    SELECT n.nspname INTO pgss_schema
        FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_stat_statements';
    IF pgss_schema IS NULL THEN
        RETURN;
    END IF;
    -- (oid, oid, bigint) up to PostgreSQL 16; 17 adds a fourth argument with a default.
    SELECT p.oid INTO reset_fn FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = pgss_schema)
          AND p.proname = 'pg_stat_statements_reset' AND p.pronargs >= 3
        ORDER BY p.pronargs LIMIT 1;
    IF reset_fn IS NULL OR NOT pg_catalog.has_function_privilege(reset_fn, 'EXECUTE') THEN
        RETURN;
    END IF;
    FOR entry IN EXECUTE format(
        'SELECT DISTINCT s.userid, s.dbid, s.queryid FROM %I.pg_stat_statements s'
        ' JOIN pg_temp.fdw_wizard_secret t ON pg_catalog.strpos(s.query, t.secret) > 0',
        pgss_schema)
    LOOP
        EXECUTE format('SELECT %I.pg_stat_statements_reset($1, $2, $3)', pgss_schema)
            USING entry.userid, entry.dbid, entry.queryid;
    END LOOP;
END
$fdw_wizard$
