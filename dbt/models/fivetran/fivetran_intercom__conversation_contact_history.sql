-- Fivetran's conversation_contact_history: the current contacts of each conversation.
{{ config(alias='conversation_contact_history') }}

select
    {{ tap_intercom.safe_bigint('conversation_id') }} as conversation_id,
    contact_id,
    conversation_updated_at,
    not is_deleted as _fivetran_active,
    conversation_updated_at as _fivetran_start,
    case when is_deleted then synced_at else {{ tap_intercom.far_future() }} end as _fivetran_end,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__conversation_contacts') }}
