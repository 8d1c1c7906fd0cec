-- Maintenance cost by month and kind (work orders of fat_manutencao_completa).
CREATE MATERIALIZED VIEW {agg_schema}.manutencao_mensal AS
SELECT
    date_trunc('month', m.data_abertura)::date AS mes,
    coalesce(m.tipo_manutencao, '-') AS tipo_manutencao,
    count(*) AS ordens,
    sum(m.valor_pecas) AS valor_pecas,
    sum(m.valor_mao_obra) AS valor_mao_obra,
    sum(m.valor_total) AS valor_total
FROM {source_schema}.fat_manutencao_completa m
GROUP BY 1, 2
WITH DATA
