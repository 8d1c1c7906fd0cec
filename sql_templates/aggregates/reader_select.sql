GRANT SELECT ON {agg_schema}.{view} TO {role}
