-- Fivetran's team table.
{{ config(alias='team') }}

select
    {{ tap_intercom.safe_bigint('team_id') }} as id,
    team_name as name,
    is_deleted as _fivetran_deleted,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__teams') }}
