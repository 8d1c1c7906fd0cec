-- Vehicles off the road by month and kind of maintenance (fat_manutencao_unificado).
CREATE MATERIALIZED VIEW {agg_schema}.parada_mensal AS
SELECT
    date_trunc('month', u.data_entrada)::date AS mes,
    coalesce(u.tipo_manutencao, '-') AS tipo_manutencao,
    count(*) AS entradas,
    count(DISTINCT u.placa) AS veiculos,
    sum(u.dias_parado) AS dias_parado,
    sum(u.valor_total) AS valor_total
FROM {source_schema}.fat_manutencao_unificado u
GROUP BY 1, 2
WITH DATA
