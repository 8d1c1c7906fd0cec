-- export-sql: supabase.aggregates' owner (the ETL's role), as the step chooses it: the first
-- owner of the aggregated tables, else the configured superuser. psql keeps it (\gset) and
-- writes it into the statements as an identifier (:"variable").
SELECT COALESCE(
    (SELECT t.tableowner FROM pg_catalog.pg_tables t
     WHERE t.schemaname = {schema_name} AND t.tablename = ANY ({tables}::text[])
     ORDER BY 1 LIMIT 1),
    {fallback}) AS {variable}
