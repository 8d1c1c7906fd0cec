DROP ROLE {role}
