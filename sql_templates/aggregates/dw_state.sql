-- The aggregates present on the DW, their owner and whether the reader may read them.
SELECT m.matviewname, m.matviewowner,
       has_table_privilege({reader}, format('%I.%I', m.schemaname, m.matviewname), 'SELECT')
FROM pg_matviews m
WHERE m.schemaname = {agg_schema_name}
