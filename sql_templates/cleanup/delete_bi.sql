-- Runbook 6.1, option 2: remove only the rows the ETL copied from the BI.
-- Parameters: {table}, {origin}
DELETE FROM {table} WHERE origem = {origin};
