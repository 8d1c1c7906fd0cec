ALTER ROLE {role} LOGIN PASSWORD {verifier}
