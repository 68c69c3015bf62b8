-- One row per current conversation: dbt_intercom's time to first response and time to first close, in calendar
-- minutes and in minutes within office hours (one schedule: var tap_intercom_office_hours_schedule_id, else the
-- lowest schedule id). Office time is counted on the schedule's wall clock (its time_zone_name).
{%- set week = 604800 %}
{%- set monday = 345600 %}{# 1970-01-05 00:00, a Monday: weeks are counted from it #}

with events as (
    select * from {{ ref('int_tap_intercom__conversation_events') }}
),

schedule as (
    select *
    from {{ ref('stg_tap_intercom__office_hours_schedules') }}
    where schedule_id = coalesce(
        {{ "'" ~ var('tap_intercom_office_hours_schedule_id') ~ "'" if var('tap_intercom_office_hours_schedule_id') else 'null' }},
        (select min(schedule_id) from {{ ref('stg_tap_intercom__office_hours_schedules') }} where not is_deleted))
),

spans as (
    select conversation_id, 'response' as span, created_at as span_start, first_admin_response_at as span_end
    from events
    union all
    select conversation_id, 'close' as span, first_contact_reply_at as span_start, first_close_at as span_end
    from events
),

local_spans as (
    select
        spans.conversation_id,
        spans.span,
        schedule.schedule_id,
        schedule.twenty_four_seven,
        {{ tap_intercom.epoch_seconds(tap_intercom.wall_clock('spans.span_start', 'schedule.time_zone_name')) }} - {{ monday }} as start_s,
        {{ tap_intercom.epoch_seconds(tap_intercom.wall_clock('spans.span_end', 'schedule.time_zone_name')) }} - {{ monday }} as end_s
    from spans
    cross join schedule
    where spans.span_start is not null and spans.span_end is not null and spans.span_end >= spans.span_start
),

weekly as (
    select local_spans.*, weeks.week
    from local_spans
    {{ tap_intercom.series_join('floor(local_spans.start_s / ' ~ week ~ ')', 'floor(local_spans.end_s / ' ~ week ~ ')', 'weeks', 'week') }}
),

office_seconds as (
    select
        weekly.conversation_id,
        weekly.span,
        max(weekly.schedule_id) as schedule_id,
        case when max(case when weekly.twenty_four_seven then 1 else 0 end) = 1
             then max(weekly.end_s - weekly.start_s)
             else coalesce(sum(
                case when least(weekly.end_s, weekly.week * {{ week }} + intervals.end_minute * 60)
                          > greatest(weekly.start_s, weekly.week * {{ week }} + intervals.start_minute * 60)
                     then least(weekly.end_s, weekly.week * {{ week }} + intervals.end_minute * 60)
                          - greatest(weekly.start_s, weekly.week * {{ week }} + intervals.start_minute * 60)
                     else 0 end), 0) end as seconds
    from weekly
    left join {{ ref('int_tap_intercom__office_hours_intervals') }} as intervals
        on intervals.schedule_id = weekly.schedule_id
    group by 1, 2
)

select
    events.conversation_id,
    (select max(schedule_id) from schedule) as schedule_id,
    events.created_at as conversation_created_at,
    events.first_admin_response_at,
    events.first_contact_reply_at,
    events.first_close_at,
    round(cast({{ dbt.datediff('events.created_at', 'events.first_admin_response_at', 'second') }} / 60.0 as numeric), 2)
        as time_to_first_response_minutes,
    round(cast(response.seconds / 60.0 as numeric), 2) as office_time_to_first_response_minutes,
    round(cast({{ dbt.datediff('events.first_contact_reply_at', 'events.first_close_at', 'second') }} / 60.0 as numeric), 2)
        as time_to_first_close_minutes,
    round(cast(closing.seconds / 60.0 as numeric), 2) as office_time_to_first_close_minutes
from events
left join office_seconds as response
    on response.conversation_id = events.conversation_id and response.span = 'response'
left join office_seconds as closing
    on closing.conversation_id = events.conversation_id and closing.span = 'close'
