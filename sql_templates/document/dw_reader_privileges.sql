-- cleanup.document: what the reader may do in the DW database and its source schema.
-- Parameters: {name} (role), {database_name}, {schema_name}
SELECT pg_catalog.has_database_privilege({name}, {database_name}, 'CONNECT'),
       pg_catalog.has_database_privilege({name}, {database_name}, 'CREATE'),
       pg_catalog.has_schema_privilege({name}, {schema_name}, 'USAGE'),
       pg_catalog.has_schema_privilege({name}, {schema_name}, 'CREATE'),
       (SELECT count(*) FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = {schema_name} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')),
       (SELECT count(*) FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = {schema_name} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
           AND pg_catalog.has_table_privilege({name}, c.oid, 'SELECT')),
       coalesce((SELECT array_agg(c.relname ORDER BY c.relname)
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = {schema_name} AND c.relkind IN ('r', 'p')
           AND (pg_catalog.has_table_privilege({name}, c.oid, 'INSERT')
                OR pg_catalog.has_table_privilege({name}, c.oid, 'UPDATE')
                OR pg_catalog.has_table_privilege({name}, c.oid, 'DELETE')
                OR pg_catalog.has_table_privilege({name}, c.oid, 'TRUNCATE'))), '{{}}')
