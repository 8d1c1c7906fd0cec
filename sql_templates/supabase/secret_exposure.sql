-- What on this server would keep the text of a statement run inside PL/pgSQL (see
-- secret_execute.sql), readable without superuser rights: pg_stat_statements at track = 'all'
-- with track_utility on, and pgaudit (before 16.0 it logs CREATE USER MAPPING in the DDL class,
-- password included). Settings of a library that is not loaded read as NULL.
SELECT current_setting('pg_stat_statements.track', true) AS track,
       current_setting('pg_stat_statements.track_utility', true) AS track_utility,
       n.nspname AS pgss_schema,
       EXISTS (
           SELECT 1 FROM pg_catalog.pg_proc p
           WHERE p.pronamespace = e.extnamespace AND p.proname = 'pg_stat_statements_reset'
             AND p.pronargs >= 3 AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE')
       ) AS can_reset,
       current_setting('pgaudit.log', true) AS pgaudit_log,
       current_setting('server_version_num')::int AS version
FROM (SELECT 1) AS one
LEFT JOIN pg_catalog.pg_extension e ON e.extname = 'pg_stat_statements'
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
