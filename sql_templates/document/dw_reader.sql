-- cleanup.document: the reader role as the DW has it. The stored password is never read:
-- only whether it is a SCRAM verifier.
-- Parameters: {name}
SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication,
       r.rolbypassrls, r.rolconnlimit, coalesce(r.rolconfig, '{{}}'),
       coalesce(a.rolpassword LIKE 'SCRAM-SHA-256$%', false),
       r.rolvaliduntil,
       coalesce((SELECT array_agg(g.rolname ORDER BY g.rolname)
                 FROM pg_catalog.pg_auth_members m
                 JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                 WHERE m.member = r.oid), '{{}}')
FROM pg_catalog.pg_roles r
JOIN pg_catalog.pg_authid a ON a.oid = r.oid
WHERE r.rolname = {name}
