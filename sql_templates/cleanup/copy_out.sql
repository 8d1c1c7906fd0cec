-- cleanup.backup: the rows, in PostgreSQL's COPY text format (one line per row, every type).
-- Read-only. Parameters: {columns}, {table}, {filter}, {order}
COPY (SELECT {columns} FROM {table} WHERE {filter} ORDER BY {order}) TO STDOUT;
