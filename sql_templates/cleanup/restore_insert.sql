-- restore: put back the rows whose primary key is not in the table (idempotent).
-- Parameters: {table}, {columns}, {temp}, {pk_match}
INSERT INTO {table} ({columns}) OVERRIDING SYSTEM VALUE
SELECT {columns} FROM {temp} AS t
WHERE NOT EXISTS (SELECT 1 FROM {table} AS c WHERE {pk_match});
