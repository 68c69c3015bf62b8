-- One row per open interval of each office hours schedule: minutes from Monday 00:00 of the schedule's week, in
-- its own time zone (Intercom's office_hours_time_interval).
{%- set rel = tap_intercom.tap_table('office_hours_schedules') -%}
{%- set types = tap_intercom.tap_column_types(rel) -%}
{%- set c = tap_intercom.tap_columns(rel) %}

{% if rel is not none and 'time_intervals' in c %}
with items as (
    {{ tap_intercom.json_array_items(rel, c['id'], c['time_intervals'], types['time_intervals']) }}
)

select
    cast(parent_id as {{ dbt.type_string() }}) as schedule_id,
    cast({{ tap_intercom.json_text('item', ['start_minute']) }} as {{ dbt.type_int() }}) as start_minute,
    cast({{ tap_intercom.json_text('item', ['end_minute']) }} as {{ dbt.type_int() }}) as end_minute
from items
{% else %}
select
    cast(null as {{ dbt.type_string() }}) as schedule_id,
    cast(null as {{ dbt.type_int() }}) as start_minute,
    cast(null as {{ dbt.type_int() }}) as end_minute
where 1 = 0
{% endif %}
