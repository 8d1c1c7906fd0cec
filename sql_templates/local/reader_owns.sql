-- Does the role own anything in this database (then it is not only the wizard's reader)?
SELECT count(*) FROM pg_shdepend d
JOIN pg_database db ON db.oid = d.dbid AND db.datname = current_database()
WHERE d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = {role_name}) AND d.deptype = 'o'
