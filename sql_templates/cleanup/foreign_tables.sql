-- cleanup.report: foreign tables served by the FDW server (data read live from the DW).
-- Parameters: {server_name}
SELECT count(*)
FROM pg_foreign_table AS ft
JOIN pg_foreign_server AS s ON s.oid = ft.ftserver
WHERE s.srvname = {server_name};
