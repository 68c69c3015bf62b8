-- Fivetran's conversation_history: every version of each conversation; the assignee is the admin, else the team.
{{ config(alias='conversation_history') }}

select
    {{ tap_intercom.safe_bigint('id') }} as id,
    created_at,
    updated_at,
    {{ tap_intercom.safe_bigint('assignee_id') }} as assignee_id,
    assignee_type,
    rating_value as conversation_rating_value,
    rating_remark as conversation_rating_remark,
    first_contact_reply_created_at,
    first_contact_reply_type,
    is_read as read,
    sla_name,
    sla_status,
    snoozed_until,
    source_author_id,
    source_author_type,
    source_body,
    source_delivered_as,
    source_subject,
    source_type,
    state,
    waiting_since,
    is_active as _fivetran_active,
    valid_from as _fivetran_start,
    coalesce(valid_to, case when is_active then {{ tap_intercom.far_future() }} else synced_at end) as _fivetran_end,
    synced_at as _fivetran_synced
from (
    -- Intercom 2.16 writes 0 for "not assigned": no assignee, as Fivetran has it
    select
        *,
        case when admin_assignee_id not in ('0', '') then admin_assignee_id
             when team_assignee_id not in ('0', '') then team_assignee_id end as assignee_id,
        case when admin_assignee_id not in ('0', '') then 'admin'
             when team_assignee_id not in ('0', '') then 'team' end as assignee_type
    from {{ ref('stg_tap_intercom__conversation_versions') }}
) as conversation_versions
