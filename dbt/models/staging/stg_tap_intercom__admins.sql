-- Teammates, one row each.
{%- set rel = tap_intercom.tap_table('admins') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'id') }} as admin_id,
    {{ tap_intercom.field(c, 'name') }} as admin_name,
    {{ tap_intercom.field(c, 'email') }} as email,
    {{ tap_intercom.field(c, 'job_title') }} as job_title,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
