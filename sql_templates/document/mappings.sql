-- cleanup.document: the user mappings of the server, by role. Only the option NAMES and the
-- remote user leave the server: the password's value is never selected.
-- Parameters: {server_name}
SELECT m.usename,
       m.umoptions IS NOT NULL,
       coalesce((SELECT array_agg(split_part(o, '=', 1) ORDER BY split_part(o, '=', 1))
                 FROM unnest(m.umoptions) o), '{{}}'),
       (SELECT substr(o, 6) FROM unnest(m.umoptions) o WHERE o LIKE 'user=%' LIMIT 1)
FROM pg_catalog.pg_user_mappings m
WHERE m.srvname = {server_name}
ORDER BY 1
