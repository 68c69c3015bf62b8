-- Fivetran's contact_history: every version of each user and lead, with role.
{{ config(alias='contact_history') }}

select
    id,
    owner_id as admin_id,
    created_at,
    updated_at,
    signed_up_at,
    name,
    role,
    email,
    last_replied_at,
    last_contacted_at,
    last_email_opened_at,
    last_email_clicked_at,
    unsubscribed_from_emails,
    is_active as _fivetran_active,
    valid_from as _fivetran_start,
    coalesce(valid_to, case when is_active then {{ tap_intercom.far_future() }} else synced_at end) as _fivetran_end,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__contact_versions') }}
