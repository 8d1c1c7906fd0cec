-- validate.offline: a throwaway copy of the real server pointed at an address that never
-- answers; created inside a transaction that is always rolled back.
CREATE SERVER {server} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({options})
