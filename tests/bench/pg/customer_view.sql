-- The customer view, RFM scores and the pyramid and Pareto tiers as kehu
-- defines them (docs/metrics.md), computed from the events table with SQL
-- and materialized with the indexes the point lookups and segment lists
-- need. psql variables: :as_of (e.g. '2026-01-01T00:00:00Z') and
-- :currency (the reporting currency, e.g. 'EUR').
--
-- What kehu does the same way: a purchase is an order placed at or before
-- as of and not cancelled; revenue is price x quantity minus discounts,
-- minus refunds (the refund the source states when in the order's currency,
-- else the returned units' share of their lines, capped at the order's
-- revenue); cost of goods counts lines with a known unit cost, minus the
-- cost of returned units; margin = revenue - cost of goods; the trailing
-- year is (as_of - 365 days, as_of]; RFM cuts are the nearest-rank 20/40/60/80th
-- percentiles over customers with a purchase; pyramid and Pareto rank
-- active customers by trailing-year margin in the reporting currency.
-- Not computed here: lifecycle stages, P(alive) and current value (they
-- need the BG/NBD and Gamma-Gamma fits), satisfaction and loyalty indexes.
-- Differences in detail: a return line is matched to the first order line
-- of its SKU only, and a re-used order id is not detected.

\set ON_ERROR_STOP on

-- Typed tables from the documents: what a schema designed for SQL would
-- have held from the start.
CREATE TABLE orders AS
SELECT doc->>'customerId' AS customer_id,
       doc->'orderPlaced'->>'orderId' AS order_id,
       (doc->>'occurredAt')::timestamptz AS placed_at,
       doc->'orderPlaced'->>'currency' AS currency
FROM events WHERE doc ? 'orderPlaced';

CREATE TABLE order_lines AS
SELECT e.doc->>'customerId' AS customer_id,
       e.doc->'orderPlaced'->>'orderId' AS order_id,
       l.n AS line_no,
       l.line->>'sku' AS sku,
       (l.line->>'quantity')::bigint AS quantity,
       (l.line->>'quantity')::bigint * coalesce((l.line->>'unitPriceMinor')::bigint, 0)
         - coalesce((l.line->>'discountMinor')::bigint, 0) AS net_minor,
       (l.line->>'unitCostMinor')::bigint AS unit_cost_minor
FROM events e,
     jsonb_array_elements(e.doc->'orderPlaced'->'lines') WITH ORDINALITY AS l(line, n)
WHERE e.doc ? 'orderPlaced';

CREATE TABLE cancellations AS
SELECT DISTINCT doc->>'customerId' AS customer_id,
       doc->'orderCancelled'->>'orderId' AS order_id
FROM events WHERE doc ? 'orderCancelled';

CREATE TABLE returns AS
SELECT doc->>'customerId' AS customer_id,
       doc->'orderReturned'->>'orderId' AS order_id,
       doc->'orderReturned'->>'returnId' AS return_id,
       (doc->'orderReturned'->'refund'->>'minorUnits')::bigint AS refund_minor,
       doc->'orderReturned'->'refund'->>'currency' AS refund_currency,
       doc->'orderReturned'->'lines' AS lines
FROM events WHERE doc ? 'orderReturned';

CREATE TABLE customers AS
SELECT DISTINCT doc->>'customerId' AS customer_id FROM events;

CREATE INDEX ON orders (customer_id, order_id);
CREATE INDEX ON order_lines (customer_id, order_id, sku, line_no);
CREATE INDEX ON cancellations (customer_id, order_id);
ANALYZE orders; ANALYZE order_lines; ANALYZE cancellations; ANALYZE returns;

-- One row per order with its money after cancellations and returns.
CREATE TABLE order_money AS
WITH line_totals AS (
  SELECT customer_id, order_id, sum(net_minor) AS revenue_minor,
         coalesce(sum(quantity * unit_cost_minor), 0) AS cost_minor
  FROM order_lines GROUP BY customer_id, order_id
), returned_lines AS (
  -- Each return line against the first order line of its SKU.
  SELECT r.customer_id, r.order_id, r.return_id, r.refund_minor,
         r.refund_currency,
         least((rl.line->>'quantity')::bigint, ol.quantity) AS units,
         ol.quantity, ol.net_minor, ol.unit_cost_minor
  FROM returns r
  CROSS JOIN LATERAL jsonb_array_elements(coalesce(r.lines, '[]'::jsonb)) AS rl(line)
  JOIN LATERAL (
    SELECT * FROM order_lines l
    WHERE l.customer_id = r.customer_id AND l.order_id = r.order_id
      AND l.sku = rl.line->>'sku'
    ORDER BY l.line_no LIMIT 1) ol ON true
), per_return AS (
  SELECT r.customer_id, r.order_id, r.return_id,
         max(r.refund_minor) AS refund_minor, max(r.refund_currency) AS refund_currency,
         coalesce(sum(rl.net_minor * rl.units / rl.quantity), 0) AS line_refund_minor,
         coalesce(sum(rl.units * rl.unit_cost_minor), 0) AS returned_cost_minor
  FROM returns r
  LEFT JOIN returned_lines rl USING (customer_id, order_id, return_id)
  GROUP BY r.customer_id, r.order_id, r.return_id
)
SELECT o.customer_id, o.order_id, o.placed_at, o.currency,
       t.revenue_minor, t.cost_minor,
       least(coalesce(sum(CASE WHEN pr.refund_currency = o.currency
                               THEN pr.refund_minor
                               ELSE pr.line_refund_minor END), 0),
             t.revenue_minor) AS refunded_minor,
       coalesce(sum(pr.returned_cost_minor), 0) AS returned_cost_minor,
       c.order_id IS NOT NULL AS cancelled
FROM orders o
JOIN line_totals t USING (customer_id, order_id)
LEFT JOIN per_return pr USING (customer_id, order_id)
LEFT JOIN cancellations c USING (customer_id, order_id)
GROUP BY o.customer_id, o.order_id, o.placed_at, o.currency, t.revenue_minor,
         t.cost_minor, c.order_id;

-- The customer view with its scores and tiers, materialized. The one-row
-- CTEs are MATERIALIZED: inlined, the planner may rescan them, scalar
-- subqueries over `ranked` included, once per customer (quadratic).
CREATE MATERIALIZED VIEW customer_view AS
WITH params AS MATERIALIZED (
  SELECT (:'as_of')::timestamptz AS as_of, :'currency'::text AS currency
), purchases AS (
  SELECT m.*, (m.revenue_minor - m.refunded_minor)
              - (m.cost_minor - m.returned_cost_minor) AS margin_minor
  FROM order_money m, params p
  WHERE NOT m.cancelled AND m.placed_at <= p.as_of
), facts AS (
  SELECT c.customer_id,
         count(u.order_id) AS purchases,
         coalesce(sum(u.revenue_minor - u.refunded_minor)
                    FILTER (WHERE u.currency = p.currency), 0) AS revenue_minor,
         coalesce(sum(u.margin_minor) FILTER (WHERE u.currency = p.currency), 0)
           AS margin_minor,
         min(u.placed_at) AS first_purchase,
         max(u.placed_at) AS last_purchase,
         count(u.order_id) FILTER (WHERE u.placed_at > p.as_of - interval '365 days')
           AS window_purchases,
         coalesce(sum(u.margin_minor) FILTER (
           WHERE u.placed_at > p.as_of - interval '365 days'
             AND u.currency = p.currency), 0) AS window_margin_minor,
         extract(epoch FROM p.as_of - max(u.placed_at)) / 86400 AS recency_days
  FROM customers c CROSS JOIN params p
  LEFT JOIN purchases u USING (customer_id)
  GROUP BY c.customer_id, p.as_of, p.currency
), rfm_cuts AS MATERIALIZED (
  SELECT percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY recency_days) AS r,
         percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY window_purchases) AS f,
         percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY window_margin_minor) AS m
  FROM facts WHERE purchases > 0
), ranked AS (
  -- Active customers, highest trailing margin first, ties by id.
  SELECT customer_id, window_margin_minor,
         row_number() OVER w AS rank,
         sum(window_margin_minor) OVER w AS running_margin
  FROM facts WHERE window_purchases > 0
  WINDOW w AS (ORDER BY window_margin_minor DESC, customer_id COLLATE "C"
               ROWS UNBOUNDED PRECEDING)
), population AS MATERIALIZED (
  SELECT count(*) AS active,
         ceil(0.05 * count(*))::bigint AS key_customers,
         ceil(0.20 * count(*))::bigint AS key_and_potential,
         sum(greatest(window_margin_minor, 0)) AS total_margin
  FROM ranked
), cutoffs AS MATERIALIZED (
  SELECT p.*,
         (SELECT window_margin_minor FROM ranked WHERE rank = least(p.key_customers, p.active)) AS key_cutoff,
         (SELECT window_margin_minor FROM ranked WHERE rank = least(p.key_and_potential, p.active)) AS potential_cutoff,
         (SELECT window_margin_minor FROM ranked
          WHERE running_margin >= 0.8 * p.total_margin ORDER BY rank LIMIT 1) AS pareto_cutoff
  FROM population p
)
SELECT f.customer_id, f.purchases, f.revenue_minor, f.margin_minor,
       f.first_purchase, f.last_purchase, f.window_purchases,
       f.window_margin_minor,
       CASE WHEN f.purchases > 0 THEN
         1 + (f.recency_days < q.r[1])::int + (f.recency_days < q.r[2])::int
           + (f.recency_days < q.r[3])::int + (f.recency_days < q.r[4])::int END AS recency_score,
       CASE WHEN f.purchases > 0 THEN
         1 + (f.window_purchases > q.f[1])::int + (f.window_purchases > q.f[2])::int
           + (f.window_purchases > q.f[3])::int + (f.window_purchases > q.f[4])::int END AS frequency_score,
       CASE WHEN f.purchases > 0 THEN
         1 + (f.window_margin_minor > q.m[1])::int + (f.window_margin_minor > q.m[2])::int
           + (f.window_margin_minor > q.m[3])::int + (f.window_margin_minor > q.m[4])::int END AS monetary_score,
       CASE WHEN f.purchases = 0 THEN NULL
            WHEN f.window_purchases = 0 THEN 'inactive'
            WHEN c.key_customers > 0 AND f.window_margin_minor >= c.key_cutoff THEN 'key'
            WHEN c.key_and_potential > c.key_customers
                 AND f.window_margin_minor >= c.potential_cutoff THEN 'potential'
            WHEN f.window_purchases = 1 THEN 'one_time'
            ELSE 'regular' END AS pyramid_tier,
       CASE WHEN f.purchases = 0 THEN NULL
            WHEN f.window_purchases > 0 AND c.total_margin > 0
                 AND f.window_margin_minor >= c.pareto_cutoff THEN 'key'
            ELSE 'ordinary' END AS pareto_set
FROM facts f CROSS JOIN rfm_cuts q CROSS JOIN cutoffs c;

CREATE UNIQUE INDEX customer_view_id ON customer_view (customer_id);
CREATE INDEX customer_view_tier ON customer_view (pyramid_tier, window_margin_minor DESC);
ANALYZE customer_view;
