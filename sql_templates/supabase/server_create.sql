CREATE SERVER {server} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({options})
