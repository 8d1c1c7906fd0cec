-- cleanup.document: the foreign server, its wrapper, owner and options (no secret lives there).
-- Parameters: {server_name}
SELECT s.srvname, w.fdwname, o.rolname, coalesce(s.srvoptions, '{{}}')
FROM pg_catalog.pg_foreign_server s
JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
JOIN pg_catalog.pg_roles o ON o.oid = s.srvowner
WHERE s.srvname = {server_name}
