-- validate.offline: point the foreign server at the outage's address, inside the measuring
-- transaction only (always rolled back: nobody else ever sees the change, and postgres_fdw
-- drops this session's cached connection to the real address).
ALTER SERVER {server} OPTIONS ({options})
