SELECT {schema}.pg_stat_statements_reset({userid}, {dbid}, {queryid})
