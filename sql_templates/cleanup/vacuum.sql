-- cleanup.dedupe, after the commit: make the freed space reusable and refresh the statistics.
-- (Space goes back to the operating system only with VACUUM FULL, which locks the table.)
-- Parameters: {table}
VACUUM (ANALYZE) {table};
