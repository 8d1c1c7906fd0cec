-- A unique index lets the ETL refresh without locking readers out (REFRESH ... CONCURRENTLY).
CREATE UNIQUE INDEX {index} ON {agg_schema}.{view} ({columns})
