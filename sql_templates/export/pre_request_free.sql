-- export-sql: supabase.read-bound hooks its function only where no other db-pre-request
-- function is set on authenticator (the step says how to chain them instead); psql keeps the
-- answer (\gset) for \if.
SELECT NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_roles r, pg_catalog.unnest(r.rolconfig) c
    WHERE r.rolname = 'authenticator' AND pg_catalog.split_part(c, '=', 1) = {setting}
      AND c <> {ours}) AS {variable}
