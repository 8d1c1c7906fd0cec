-- cleanup.document: how many of the server's foreign tables each role can SELECT.
-- Parameters: {server_name}, {roles}
SELECT r.rolname,
       count(*) FILTER (WHERE pg_catalog.has_table_privilege(r.oid, c.oid, 'SELECT'))
FROM pg_catalog.pg_roles r
CROSS JOIN pg_catalog.pg_foreign_table ft
JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid
JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver
WHERE s.srvname = {server_name} AND r.rolname = ANY({roles})
GROUP BY r.rolname
ORDER BY 1
