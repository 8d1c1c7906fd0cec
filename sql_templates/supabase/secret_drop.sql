DROP TABLE pg_temp.fdw_wizard_secret
