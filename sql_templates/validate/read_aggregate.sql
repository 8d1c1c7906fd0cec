-- A typical dashboard aggregate: a monthly total. date_trunc('month', ...) is never pushed down
-- by postgres_fdw (the constant 'month' carries a collation), so the whole column pair crosses.
SELECT date_trunc('month', {date_column}) AS mes, sum({amount_column}) AS total
FROM {table} GROUP BY 1 ORDER BY 1
