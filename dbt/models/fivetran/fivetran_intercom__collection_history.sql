-- Fivetran's collection_history: help center collections (current versions only).
{{ config(alias='collection_history') }}

select
    collection_id as id,
    help_center_id,
    parent_id,
    collection_name as name,
    description,
    url,
    icon,
    'collection' as type,
    default_locale,
    workspace_id,
    display_order as "order",
    created_at,
    updated_at,
    not is_deleted as _fivetran_active,
    updated_at as _fivetran_start,
    case when is_deleted then synced_at else {{ tap_intercom.far_future() }} end as _fivetran_end,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__help_center_collections') }}
