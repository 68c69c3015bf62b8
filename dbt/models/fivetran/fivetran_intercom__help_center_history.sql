-- Fivetran's help_center_history: help centers (current versions only).
{{ config(alias='help_center_history') }}

select
    help_center_id as id,
    workspace_id,
    identifier,
    display_name,
    website_turned_on,
    created_at,
    updated_at,
    not is_deleted as _fivetran_active,
    updated_at as _fivetran_start,
    case when is_deleted then synced_at else {{ tap_intercom.far_future() }} end as _fivetran_end,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__help_centers') }}
