-- One row per event of a receipt (open, click, ...; the content data export's event files). Built only with var
-- tap_intercom_messages_enabled.
{{ config(enabled=var('tap_intercom_messages_enabled', false)) }}
{%- set rel = tap_intercom.tap_table('message_events') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'receipt_id') }} as receipt_id,
    {{ tap_intercom.field(c, 'event') }} as event,
    {{ tap_intercom.field(c, 'occurred_at', dbt.type_timestamp()) }} as occurred_at,
    {{ tap_intercom.field(c, 'url') }} as url,
    {{ tap_intercom.is_deleted(c) }} as is_deleted
from {{ tap_intercom.from_tap(rel) }}
