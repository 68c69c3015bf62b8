-- Office hours schedules (their weekly intervals: int_tap_intercom__office_hours_intervals).
{%- set rel = tap_intercom.tap_table('office_hours_schedules') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'id') }} as schedule_id,
    {{ tap_intercom.field(c, 'name') }} as schedule_name,
    {{ tap_intercom.field(c, 'time_zone_name') }} as time_zone_name,
    {{ tap_intercom.field(c, 'twenty_four_seven', 'boolean') }} as twenty_four_seven,
    {{ tap_intercom.field(c, 'created_at', dbt.type_timestamp()) }} as created_at,
    {{ tap_intercom.field(c, 'updated_at', dbt.type_timestamp()) }} as updated_at,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
