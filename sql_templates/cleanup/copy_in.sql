-- restore / backup read-back: load a backup file into the temporary table.
-- Parameters: {temp}, {columns}
COPY {temp} ({columns}) FROM STDIN;
