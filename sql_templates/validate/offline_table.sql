CREATE FOREIGN TABLE {schema}.probe () SERVER {server} OPTIONS (schema_name 'pg_catalog', table_name 'pg_am')
