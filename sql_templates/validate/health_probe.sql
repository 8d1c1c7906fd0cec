-- The monitor's health probe: one row through the FDW, as the app's health check does.
SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) AS probe
