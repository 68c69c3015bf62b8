-- Fivetran's team_admin table: which admins are in which team.
{{ config(alias='team_admin') }}

select
    admin_id,
    {{ tap_intercom.safe_bigint('team_id') }} as team_id,
    is_deleted as _fivetran_deleted,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__team_admins') }}
