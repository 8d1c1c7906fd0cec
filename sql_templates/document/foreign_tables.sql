-- cleanup.document: the foreign tables of the server with the catalog's row estimate
-- (reltuples from ANALYZE; -1 = never analyzed) and their options.
-- Parameters: {server_name}
SELECT n.nspname, c.relname, c.reltuples, coalesce(ft.ftoptions, '{{}}')
FROM pg_catalog.pg_foreign_table ft
JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver
WHERE s.srvname = {server_name}
ORDER BY 1, 2
