-- cleanup.document: roles that hold USAGE on the foreign server (an API role with it could read
-- its own mapping's password from pg_user_mappings).
-- Parameters: {server_name}, {roles}
SELECT r.rolname
FROM pg_catalog.pg_roles r
WHERE r.rolname = ANY({roles})
  AND pg_catalog.has_server_privilege(r.oid,
        (SELECT oid FROM pg_catalog.pg_foreign_server WHERE srvname = {server_name}), 'USAGE')
ORDER BY 1
