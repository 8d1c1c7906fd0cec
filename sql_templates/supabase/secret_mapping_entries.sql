-- Entries of pg_stat_statements (those this role can read) that set a user-mapping password on
-- the wizard's server: left by an earlier run, by hand, or where they could not be removed.
-- The secret itself is never sent here; the patterns below are normalized away by
-- pg_stat_statements, so this query never matches its own entry.
SELECT s.userid, s.dbid, s.queryid FROM {schema}.pg_stat_statements s
WHERE s.query ~* {mapping_pattern} AND s.query ~* {password_pattern}
  AND pg_catalog.strpos(s.query, {server_name}) > 0
ORDER BY s.queryid
