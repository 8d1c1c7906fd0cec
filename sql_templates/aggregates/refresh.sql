-- After each ETL load, as the ETL's role (the owner): the aggregates are as of their last refresh.
REFRESH MATERIALIZED VIEW CONCURRENTLY {agg_schema}.{view}
