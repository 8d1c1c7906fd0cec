-- Runbook 3.2: the fleet with its client's name and city (both foreign tables, same server:
-- the join is pushed down to the DW).
CREATE OR REPLACE VIEW {view_schema}.v_frota_360 WITH (security_invoker = {security_invoker}) AS
SELECT
    f.*,
    c.razao_social AS cliente_nome,
    c.cidade AS cliente_cidade
FROM {fdw_schema}.dim_frota f
LEFT JOIN {fdw_schema}.dim_clientes c ON f.cliente_codigo = c.codigo_cliente
