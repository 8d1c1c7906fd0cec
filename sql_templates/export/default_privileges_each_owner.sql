-- export-sql: local.reader-role's default privileges, one statement per owner of the imported
-- tables as the DW knows them when the script runs (psql runs each row with \gexec). The
-- statement is the step's own, with the owner left to format('%I').
SELECT pg_catalog.format({statement}, o.tableowner)
FROM (SELECT DISTINCT t.tableowner FROM pg_catalog.pg_tables t
      WHERE t.schemaname = {schema_name} AND t.tablename = ANY ({tables}::text[])) o
ORDER BY 1
