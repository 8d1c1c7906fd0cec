-- The fleet summary: vehicles by make, category and situation.
CREATE MATERIALIZED VIEW {agg_schema}.frota_resumo AS
SELECT
    f.marca,
    coalesce(f.categoria, '-') AS categoria,
    coalesce(f.situacao, '-') AS situacao,
    count(*) AS veiculos,
    round(avg(f.km_atual)) AS km_medio,
    sum(f.valor_fipe) AS valor_fipe
FROM {source_schema}.dim_frota f
GROUP BY 1, 2, 3
WITH DATA
