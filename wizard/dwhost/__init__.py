"""The DW host side: the conf and pg_hba editors, the OS (service, firewall, elevation), TLS
files, SCRAM verifiers, what the server says about itself, address exposure, field reports."""
