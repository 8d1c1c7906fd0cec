-- cleanup.document: every view that reads a foreign table of the server (through its rewrite
-- rule), wherever it lives: the configured ones and any other (the dashboards' aggregates).
-- Parameters: {server_name}
SELECT DISTINCT vn.nspname, v.relname
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
JOIN pg_catalog.pg_class v ON v.oid = r.ev_class AND v.relkind = 'v'
JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_catalog.pg_foreign_table ft ON ft.ftrelid = d.refobjid
JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver
WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
  AND s.srvname = {server_name}
ORDER BY 1, 2
