-- app.rest-check: the schemas the REST API exposes, when PostgREST reads them from the database
-- (PostgREST docs "In-Database Configuration": pgrst.db_schemas set on the authenticator role).
-- No row means the API is configured elsewhere (the dashboard); the step then asks the API.
SELECT substr(c, length('pgrst.db_schemas=') + 1)
FROM pg_roles r, unnest(r.rolconfig) AS c
WHERE r.rolname = 'authenticator' AND c LIKE 'pgrst.db\_schemas=%';
