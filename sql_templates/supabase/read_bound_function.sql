-- supabase.read-bound: PostgREST's db-pre-request function. PostgREST calls it in every
-- request's transaction, after it has set the role (with the role's own settings, e.g.
-- authenticated's 8 s statement_timeout) and the request.* settings, right before the query.
-- For a read of a BI relation it lowers statement_timeout for this transaction only (SET LOCAL
-- semantics: set_config(..., true)), so the read ends within the bound even when the DW hangs
-- (a warm postgres_fdw connection waits until statement_timeout; on 16/17 also a connection
-- attempt). Every other request keeps its role's timeout. It never raises a lower timeout.
CREATE OR REPLACE FUNCTION {schema}.api_read_bound() RETURNS void
LANGUAGE plpgsql SECURITY INVOKER SET search_path = ''
AS $fn$
DECLARE
    relation text := pg_catalog.ltrim(pg_catalog.current_setting('request.path', true), '/');
    bound_ms integer := {bound_ms};
    current_ms integer;
BEGIN
    IF relation IS NULL OR NOT relation = ANY ({relations}::text[]) THEN
        RETURN;
    END IF;
    SELECT s.setting::integer INTO current_ms FROM pg_catalog.pg_settings s
        WHERE s.name = 'statement_timeout';
    IF current_ms = 0 OR current_ms > bound_ms THEN
        PERFORM pg_catalog.set_config('statement_timeout', bound_ms::text || 'ms', true);
    END IF;
END
$fn$
