-- Entries of pg_stat_statements (those this role can read) whose text holds a staged secret.
SELECT count(*) FROM {schema}.pg_stat_statements s
JOIN pg_temp.fdw_wizard_secret t ON pg_catalog.strpos(s.query, t.secret) > 0
