-- One row per current conversation: the moments dbt_intercom's metrics turn on, computed here with the same
-- definitions so that our own marts need no dbt_intercom (docs/DBT.md, "Definitions").
with conversations as (
    select id as conversation_id, created_at, state
    from {{ ref('stg_tap_intercom__conversation_versions') }}
    where is_active
),

parts as (
    select * from {{ ref('stg_tap_intercom__conversation_parts') }}
)

select
    conversations.conversation_id,
    conversations.created_at,
    conversations.state,
    count(parts.conversation_part_id) as count_parts,
    min(case when parts.part_type = 'comment' and parts.author_type in ('user', 'lead') then parts.created_at end) as first_contact_reply_at,
    min(case when parts.part_type in ('comment', 'assignment') and parts.author_type = 'admin' and parts.body is not null
        then parts.created_at end) as first_admin_response_at,
    min(case when parts.part_type = 'close' then parts.created_at end) as first_close_at,
    max(case when parts.part_type = 'close' then parts.created_at end) as last_close_at,
    sum(case when parts.part_type = 'open' then 1 else 0 end) as count_reopens,
    sum(case when parts.part_type like '%assignment%' then 1 else 0 end) as count_assignments,
    sum(case when parts.part_type = 'snoozed' then 1 else 0 end) as count_snoozes
from conversations
left join parts
    on parts.conversation_id = conversations.conversation_id
group by 1, 2, 3
