-- Intercom's own numbers per conversation: the Reporting Data Export's conversation dataset (the tap's
-- report_conversation table). Built only with var tap_intercom_reporting_enabled; no rows when the table is absent.
{{ config(enabled=var('tap_intercom_reporting_enabled', false)) }}
{%- set rel = tap_intercom.tap_table('report_conversation') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'conversation_id') }} as conversation_id,
    {{ tap_intercom.field(c, 'conversation_started_at', dbt.type_timestamp()) }} as conversation_started_at,
    {{ tap_intercom.field(c, 'conversation_first_closed_at', dbt.type_timestamp()) }} as conversation_first_closed_at,
    {{ tap_intercom.field(c, 'conversation_first_teammate_reply_at', dbt.type_timestamp()) }} as conversation_first_teammate_reply_at,
    {{ tap_intercom.field(c, 'conversation_state') }} as conversation_state,
    {{ tap_intercom.field(c, 'time_to_first_close', tap_intercom.type_double()) }} as time_to_first_close_seconds,
    -- the export's column for reopens: `number_of_reopens` (what the emulator writes) or `count_reopens`
    coalesce({{ tap_intercom.field(c, 'number_of_reopens', tap_intercom.type_double()) }},
             {{ tap_intercom.field(c, 'count_reopens', tap_intercom.type_double()) }}) as count_reopens,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
