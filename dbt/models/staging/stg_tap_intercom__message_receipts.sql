-- One row per outbound message received (the content data export's receipt file). Built only with var
-- tap_intercom_messages_enabled.
{{ config(enabled=var('tap_intercom_messages_enabled', false)) }}
{%- set rel = tap_intercom.tap_table('message_receipts') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'receipt_id') }} as receipt_id,
    {{ tap_intercom.field(c, 'ruleset_id') }} as ruleset_id,
    {{ tap_intercom.field(c, 'content_id') }} as content_id,
    {{ tap_intercom.field(c, 'content_title') }} as content_title,
    {{ tap_intercom.field(c, 'content_type') }} as content_type,
    {{ tap_intercom.field(c, 'received_at', dbt.type_timestamp()) }} as received_at,
    {{ tap_intercom.field(c, 'first_open', dbt.type_timestamp()) }} as first_open_at,
    {{ tap_intercom.field(c, 'first_click', dbt.type_timestamp()) }} as first_click_at,
    {{ tap_intercom.is_deleted(c) }} as is_deleted
from {{ tap_intercom.from_tap(rel) }}
