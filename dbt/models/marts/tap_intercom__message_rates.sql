-- One row per message and version (ruleset_id, content_id): receipts, receipts opened and clicked (a first_open or
-- first_click time on the receipt, or an open or click event for it), and their rates. Built only with var
-- tap_intercom_messages_enabled.
{{ config(enabled=var('tap_intercom_messages_enabled', false)) }}

with receipts as (
    select * from {{ ref('stg_tap_intercom__message_receipts') }}
    where not is_deleted
),

events as (
    select
        receipt_id,
        max(case when event = 'open' then 1 else 0 end) as has_open,
        max(case when event = 'click' then 1 else 0 end) as has_click
    from {{ ref('stg_tap_intercom__message_events') }}
    where not is_deleted
    group by 1
),

per_receipt as (
    select
        receipts.*,
        case when receipts.first_open_at is not null or events.has_open = 1 then 1 else 0 end as opened,
        case when receipts.first_click_at is not null or events.has_click = 1 then 1 else 0 end as clicked
    from receipts
    left join events on events.receipt_id = receipts.receipt_id
)

select
    ruleset_id,
    content_id,
    max(content_title) as content_title,
    max(content_type) as content_type,
    count(*) as receipts,
    sum(opened) as receipts_opened,
    sum(clicked) as receipts_clicked,
    round(cast(sum(opened) as {{ tap_intercom.type_double() }}) / count(*), 4) as open_rate,
    round(cast(sum(clicked) as {{ tap_intercom.type_double() }}) / count(*), 4) as click_rate,
    min(received_at) as first_received_at,
    max(received_at) as last_received_at
from per_receipt
group by 1, 2
