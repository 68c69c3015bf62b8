-- One row per conversation of Intercom's conversation report: Intercom's own numbers (time to first close from
-- the conversation's start, reopens, state) beside the same numbers computed from the parts the tap loaded.
-- Built only with var tap_intercom_reporting_enabled.
{{ config(enabled=var('tap_intercom_reporting_enabled', false)) }}

with report as (
    select * from {{ ref('stg_tap_intercom__report_conversation') }}
    where not is_deleted
),

ours as (
    select * from {{ ref('int_tap_intercom__conversation_events') }}
)

select
    report.conversation_id,
    report.conversation_state as intercom_state,
    ours.state as our_state,
    report.conversation_first_closed_at as intercom_first_closed_at,
    ours.first_close_at as our_first_closed_at,
    round(cast(report.time_to_first_close_seconds / 60.0 as numeric), 2) as intercom_time_to_first_close_minutes,
    round(cast({{ dbt.datediff('ours.created_at', 'ours.first_close_at', 'second') }} / 60.0 as numeric), 2)
        as our_time_to_first_close_minutes,
    cast(report.count_reopens as {{ dbt.type_int() }}) as intercom_count_reopens,
    ours.count_reopens as our_count_reopens,
    ours.conversation_id is not null as is_loaded_conversation
from report
left join ours
    on ours.conversation_id = report.conversation_id
