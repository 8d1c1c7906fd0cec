-- A throwaway password: nothing answers at the probe address, and no real secret is sent there.
CREATE USER MAPPING FOR CURRENT_USER SERVER {server} OPTIONS (user {remote_user}, password {password})
