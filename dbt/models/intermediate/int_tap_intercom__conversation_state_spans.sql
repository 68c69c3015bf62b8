-- One row per stretch of time a current conversation spent in one state, from its parts: it is open from its
-- creation; a `close` part closes it, `snoozed` snoozes it, `open`, `timer_unsnooze` and `assign_and_reopen`
-- open it. A stretch ends at the next of those parts (ties: the lower part id first); the last one has no end.
with changes as (
    select conversation_id, 0 as step, created_at as started_at, cast(null as {{ dbt.type_bigint() }}) as part_order,
           'open' as state
    from {{ ref('int_tap_intercom__conversation_events') }}

    union all

    select
        parts.conversation_id,
        1 as step,
        parts.created_at as started_at,
        {{ tap_intercom.safe_bigint('parts.conversation_part_id') }} as part_order,
        case when parts.part_type = 'close' then 'closed'
             when parts.part_type = 'snoozed' then 'snoozed'
             else 'open' end as state
    from {{ ref('stg_tap_intercom__conversation_parts') }} as parts
    inner join {{ ref('int_tap_intercom__conversation_events') }} as conversations
        on conversations.conversation_id = parts.conversation_id
    where parts.part_type in ('close', 'snoozed', 'open', 'timer_unsnooze', 'assign_and_reopen')
)

select
    conversation_id,
    state,
    started_at,
    lead(started_at) over (partition by conversation_id order by started_at, step, part_order) as ended_at
from changes
