-- The aggregate as the app reads it through the API (the foreign table stays in the private
-- schema): one remote query of a few rows.
CREATE OR REPLACE VIEW {view_schema}.{name} WITH (security_invoker = {security_invoker}) AS
SELECT * FROM {fdw_schema}.{view}
