-- Which admins are in which team.
{%- set rel = tap_intercom.tap_table('team_admins') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'team_id') }} as team_id,
    {{ tap_intercom.field(c, 'admin_id') }} as admin_id,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
