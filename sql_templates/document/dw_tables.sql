-- cleanup.document: the DW tables behind the foreign tables, from the catalog's statistics
-- (reltuples and the last ANALYZE: never a count(*) on a big table).
-- Parameters: {schema_name}, {tables}
SELECT c.relname, c.reltuples, pg_catalog.pg_total_relation_size(c.oid),
       greatest(s.last_analyze, s.last_autoanalyze), o.rolname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_roles o ON o.oid = c.relowner
LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid
WHERE n.nspname = {schema_name} AND c.relname = ANY({tables})
ORDER BY 1
