-- One row per current conversation: minutes it spent open, snoozed and closed (ended stretches only,
-- int_tap_intercom__conversation_state_spans), its teammates' paused minutes (conversation_handling_events) and
-- handling minutes (open minus paused), beside Intercom's own handling_time (statistics) when it sends one.
with spans as (
    select
        conversation_id,
        sum(case when state = 'open' and ended_at is not null
                 then {{ dbt.datediff('started_at', 'ended_at', 'second') }} else 0 end) as open_seconds,
        sum(case when state = 'snoozed' and ended_at is not null
                 then {{ dbt.datediff('started_at', 'ended_at', 'second') }} else 0 end) as snoozed_seconds,
        sum(case when state = 'closed' and ended_at is not null
                 then {{ dbt.datediff('started_at', 'ended_at', 'second') }} else 0 end) as closed_seconds,
        max(case when ended_at is null then state end) as current_state,
        max(case when ended_at is null then started_at end) as current_state_since
    from {{ ref('int_tap_intercom__conversation_state_spans') }}
    group by 1
),

pauses as (
    select
        conversation_id,
        count(*) as count_pauses,
        sum(case when resumed_at is not null then {{ dbt.datediff('paused_at', 'resumed_at', 'second') }} else 0 end)
            as paused_seconds
    from {{ ref('int_tap_intercom__handling_pauses') }}
    group by 1
),

conversations as (
    select id as conversation_id, intercom_handling_time_seconds
    from {{ ref('stg_tap_intercom__conversation_versions') }}
    where is_active
)

select
    events.conversation_id,
    events.count_snoozes,
    spans.current_state,
    spans.current_state_since,
    round(cast(spans.open_seconds / 60.0 as numeric), 2) as open_minutes,
    round(cast(spans.snoozed_seconds / 60.0 as numeric), 2) as snoozed_minutes,
    round(cast(spans.closed_seconds / 60.0 as numeric), 2) as closed_minutes,
    coalesce(pauses.count_pauses, 0) as count_pauses,
    round(cast(coalesce(pauses.paused_seconds, 0) / 60.0 as numeric), 2) as paused_minutes,
    round(cast(greatest(spans.open_seconds - coalesce(pauses.paused_seconds, 0), 0) / 60.0 as numeric), 2)
        as handling_minutes,
    round(cast(conversations.intercom_handling_time_seconds / 60.0 as numeric), 2) as intercom_handling_minutes
from {{ ref('int_tap_intercom__conversation_events') }} as events
left join spans on spans.conversation_id = events.conversation_id
left join pauses on pauses.conversation_id = events.conversation_id
left join conversations on conversations.conversation_id = events.conversation_id
