-- The role owns nothing here (checked first): this only revokes every privilege granted to it
-- in this database (e.g. on aggregate views another step created), so DROP ROLE can succeed.
DROP OWNED BY {role}
