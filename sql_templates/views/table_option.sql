-- One option of a foreign table, added or changed (the views steps' pushdown settings).
ALTER FOREIGN TABLE {schema}.{table} OPTIONS ({verb} {option} {value})
