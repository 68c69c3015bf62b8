-- Fivetran's tag table.
{{ config(alias='tag') }}

select
    {{ tap_intercom.safe_bigint('tag_id') }} as id,
    tag_name as name,
    is_deleted as _fivetran_deleted,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__tags') }}
