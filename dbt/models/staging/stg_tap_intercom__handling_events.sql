-- Teammates' pause and resume events on each conversation.
{%- set rel = tap_intercom.tap_table('conversation_handling_events') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'conversation_id') }} as conversation_id,
    {{ tap_intercom.field(c, 'teammate_id') }} as teammate_id,
    {{ tap_intercom.field(c, 'type') }} as event_type,
    {{ tap_intercom.field(c, 'timestamp', dbt.type_timestamp()) }} as occurred_at,
    {{ tap_intercom.field(c, 'reason') }} as reason,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
