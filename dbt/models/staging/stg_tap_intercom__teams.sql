-- Teams, one row each.
{%- set rel = tap_intercom.tap_table('teams') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'id') }} as team_id,
    {{ tap_intercom.field(c, 'name') }} as team_name,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
