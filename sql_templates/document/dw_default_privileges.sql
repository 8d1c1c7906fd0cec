-- cleanup.document: default privileges that keep tables created later readable by the reader
-- (ALTER DEFAULT PRIVILEGES FOR ROLE <owner>): the owners they are set for.
-- Parameters: {name} (role), {schema_name}
SELECT o.rolname, a.privilege_type
FROM pg_catalog.pg_default_acl d
JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
JOIN pg_catalog.pg_roles o ON o.oid = d.defaclrole,
LATERAL pg_catalog.aclexplode(d.defaclacl) a
WHERE n.nspname = {schema_name} AND d.defaclobjtype = 'r'
  AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = {name})
ORDER BY 1, 2
