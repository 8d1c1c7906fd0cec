-- cleanup.document: one view: owner, options (security_invoker) and its explicit grants
-- (grantee and privilege, from its ACL; PUBLIC as grantee 0).
-- Parameters: {schema_name}, {view_name}
SELECT o.rolname, coalesce(c.reloptions, '{{}}'),
       coalesce((SELECT array_agg(coalesce(g.rolname, 'PUBLIC') || ':' || a.privilege_type
                                  ORDER BY coalesce(g.rolname, 'PUBLIC'), a.privilege_type)
                 FROM pg_catalog.aclexplode(c.relacl) a
                 LEFT JOIN pg_catalog.pg_roles g ON g.oid = a.grantee
                 WHERE a.grantee <> c.relowner), '{{}}')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_roles o ON o.oid = c.relowner
WHERE n.nspname = {schema_name} AND c.relname = {view_name} AND c.relkind = 'v'
