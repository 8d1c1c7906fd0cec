-- Foreign tables with their server and options: which relations of a plan postgres_fdw could
-- join on the DW (same server), and which already take their costs from the DW's EXPLAIN.
SELECT n.nspname || '.' || c.relname AS relation, s.srvname, coalesce(ft.ftoptions, '{{}}')
FROM pg_foreign_table ft
JOIN pg_class c ON c.oid = ft.ftrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_foreign_server s ON s.oid = ft.ftserver
