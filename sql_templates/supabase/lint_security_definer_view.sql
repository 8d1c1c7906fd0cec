-- Same rule as Supabase splinter lint 0010 (security_definer_view): a view anon or
-- authenticated can SELECT that runs with its owner's rights (no security_invoker), so it
-- ignores the caller's RLS.
SELECT n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_depend dep ON dep.objid = c.oid AND dep.deptype = 'e'
WHERE c.relkind = 'v'
  AND (pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
       OR pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT'))
  AND n.nspname <> ALL(%(platform_schemas)s)
  AND dep.objid IS NULL
  AND NOT (lower(coalesce(c.reloptions::text, '{}'))::text[]
           && ARRAY['security_invoker=1', 'security_invoker=true', 'security_invoker=yes',
                    'security_invoker=on'])
ORDER BY 1, 2
