-- Fivetran's company_tag_history: the current tags of each company.
{{ config(alias='company_tag_history') }}

select
    company_id,
    {{ tap_intercom.safe_bigint('tag_id') }} as tag_id,
    company_updated_at,
    not is_deleted as _fivetran_active,
    company_updated_at as _fivetran_start,
    case when is_deleted then synced_at else {{ tap_intercom.far_future() }} end as _fivetran_end,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__company_tags') }}
