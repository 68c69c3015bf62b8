-- Fivetran's company_history: every version of each company.
{{ config(alias='company_history') }}

select
    id,
    company_id,
    name,
    website,
    industry,
    monthly_spend,
    plan_id,
    plan_name,
    session_count,
    user_count,
    created_at,
    updated_at,
    is_active as _fivetran_active,
    valid_from as _fivetran_start,
    coalesce(valid_to, case when is_active then {{ tap_intercom.far_future() }} else synced_at end) as _fivetran_end,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__company_versions') }}
