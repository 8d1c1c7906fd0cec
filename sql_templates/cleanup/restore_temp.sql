-- restore: an empty temporary copy of the table's columns (types taken from the live table).
-- Parameters: {temp}, {columns}, {table}
CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA;
