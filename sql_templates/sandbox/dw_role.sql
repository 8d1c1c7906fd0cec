-- Local DW ("bluconecta_dw"): the ETL role that loads and owns the warehouse tables.
-- The password arrives as a SCRAM-SHA-256 verifier computed client-side, so the clear text never
-- reaches the server (nor its log). Run as the superuser `postgres` in database `postgres`.
CREATE ROLE etl_bluconecta LOGIN PASSWORD {etl_verifier};
