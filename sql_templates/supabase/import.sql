IMPORT FOREIGN SCHEMA {source_schema} LIMIT TO ({tables}) FROM SERVER {server} INTO {schema} OPTIONS (import_collate {import_collate})
