GRANT USAGE ON SCHEMA {agg_schema} TO {role}
