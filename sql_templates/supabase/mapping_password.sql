ALTER USER MAPPING FOR {role} SERVER {server} OPTIONS (SET user {remote_user}, SET password {password})
