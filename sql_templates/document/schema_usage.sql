-- cleanup.document: a schema's owner and the roles (of those given) with USAGE on it.
-- Parameters: {schema_name}, {roles}
SELECT o.rolname,
       coalesce((SELECT array_agg(r.rolname ORDER BY r.rolname) FROM pg_catalog.pg_roles r
                 WHERE r.rolname = ANY({roles})
                   AND pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')), '{{}}')
FROM pg_catalog.pg_namespace n
JOIN pg_catalog.pg_roles o ON o.oid = n.nspowner
WHERE n.nspname = {schema_name}
