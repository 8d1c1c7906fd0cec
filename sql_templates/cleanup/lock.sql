-- cleanup.dedupe: no one may add, change or remove rows between the count and the delete
-- (reads go on). Parameters: {table}
LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE;
