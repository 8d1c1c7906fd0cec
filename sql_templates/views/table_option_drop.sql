ALTER FOREIGN TABLE {schema}.{table} OPTIONS (DROP {option})
