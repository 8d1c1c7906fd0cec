-- Same rule as Supabase splinter lint 0017 (foreign_table_in_api): a foreign table that anon
-- or authenticated can SELECT, in a schema the API exposes. Foreign tables have no RLS.
SELECT n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'f'
  AND (pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
       OR pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT'))
  AND n.nspname = ANY(%(exposed)s)
ORDER BY 1, 2
