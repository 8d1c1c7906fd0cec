-- cleanup.document: which of the given roles can SELECT a view (grants, membership, PUBLIC).
-- Parameters: {schema_name}, {view_name}, {roles}
SELECT r.rolname,
       pg_catalog.has_table_privilege(r.oid, c.oid, 'SELECT')
FROM pg_catalog.pg_roles r
CROSS JOIN pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = {schema_name} AND c.relname = {view_name} AND c.relkind = 'v'
  AND r.rolname = ANY({roles})
ORDER BY 1
