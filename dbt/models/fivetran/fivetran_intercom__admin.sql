-- Fivetran's admin table: teammates.
{{ config(alias='admin') }}

select
    admin_id as id,
    admin_name as name,
    job_title,
    is_deleted as _fivetran_deleted,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__admins') }}
