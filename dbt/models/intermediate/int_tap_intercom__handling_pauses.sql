-- One row per pause of a teammate on a conversation (conversation_handling_events): a `paused` event and the
-- same teammate's next event, when it is `resumed`. A pause still running has no resumed_at.
with events as (
    select
        conversation_id,
        teammate_id,
        event_type,
        occurred_at,
        lead(event_type) over (partition by conversation_id, teammate_id order by occurred_at, event_type) as next_type,
        lead(occurred_at) over (partition by conversation_id, teammate_id order by occurred_at, event_type) as next_at
    from {{ ref('stg_tap_intercom__handling_events') }}
    where not is_deleted
)

select
    conversation_id,
    teammate_id,
    occurred_at as paused_at,
    case when next_type = 'resumed' then next_at end as resumed_at
from events
where event_type = 'paused'
