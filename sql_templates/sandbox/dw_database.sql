-- One statement on its own: CREATE DATABASE cannot run inside a transaction block.
CREATE DATABASE bluconecta_dw ENCODING 'UTF8' TEMPLATE template0
