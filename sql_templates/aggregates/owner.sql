ALTER MATERIALIZED VIEW {agg_schema}.{view} OWNER TO {owner}
