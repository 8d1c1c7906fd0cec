-- The runbook's monthly revenue dashboard, computed on the DW: postgres_fdw never ships
-- date_trunc('month', ...) (its 'month' constant carries a collation), so read through the FDW
-- this total hauls the whole invoices table to Supabase; read from here it is a few rows.
-- Names are schema-qualified: the FDW's remote session runs with search_path = pg_catalog.
CREATE MATERIALIZED VIEW {agg_schema}.faturamento_mensal AS
SELECT
    date_trunc('month', f.data_emissao)::date AS mes,
    count(*) AS notas,
    sum(f.valor_bruto) AS valor_bruto,
    sum(f.valor_impostos) AS valor_impostos,
    sum(f.valor_liquido) AS valor_liquido
FROM {source_schema}.fat_faturamentos f
GROUP BY 1
WITH DATA
