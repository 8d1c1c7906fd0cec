CREATE USER MAPPING FOR {role} SERVER {server} OPTIONS (user {remote_user}, password {password})
