-- Fivetran's conversation_part_history: every part, author and assignee flattened (a part has one version).
{{ config(alias='conversation_part_history') }}

select
    {{ tap_intercom.safe_bigint('conversation_part_id') }} as id,
    {{ tap_intercom.safe_bigint('conversation_id') }} as conversation_id,
    conversation_updated_at,
    part_type,
    body,
    created_at,
    updated_at,
    author_id,
    author_type,
    {{ tap_intercom.safe_bigint('assigned_to_id') }} as assigned_to_id,
    assigned_to_type,
    not is_deleted as _fivetran_active,
    updated_at as _fivetran_start,
    case when is_deleted then synced_at else {{ tap_intercom.far_future() }} end as _fivetran_end,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__conversation_parts') }}
