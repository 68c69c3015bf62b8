-- Fivetran's contact_company_history: the current companies of each contact.
{{ config(alias='contact_company_history') }}

select
    contact_id,
    company_id,
    contact_updated_at,
    not is_deleted as _fivetran_active,
    contact_updated_at as _fivetran_start,
    case when is_deleted then synced_at else {{ tap_intercom.far_future() }} end as _fivetran_end,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__contact_companies') }}
