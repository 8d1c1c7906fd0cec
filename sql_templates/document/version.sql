-- cleanup.document: the server's version and database (either cluster).
SELECT pg_catalog.current_setting('server_version'), pg_catalog.current_database(),
       pg_catalog.current_setting('server_encoding')
