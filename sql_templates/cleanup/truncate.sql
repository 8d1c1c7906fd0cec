-- Runbook 6.1, option 1: empty the table (no CASCADE: a table that references it stops this).
-- Parameters: {table}
TRUNCATE TABLE {table};
