-- Every part of each conversation: authors and assignees flattened from their JSON objects.
{%- set rel = tap_intercom.tap_table('conversation_parts') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'id') }} as conversation_part_id,
    {{ tap_intercom.field(c, 'conversation_id') }} as conversation_id,
    {{ tap_intercom.field(c, 'conversation_updated_at', dbt.type_timestamp()) }} as conversation_updated_at,
    {{ tap_intercom.field(c, 'part_type') }} as part_type,
    {{ tap_intercom.field(c, 'body') }} as body,
    {{ tap_intercom.field(c, 'created_at', dbt.type_timestamp()) }} as created_at,
    {{ tap_intercom.field(c, 'updated_at', dbt.type_timestamp()) }} as updated_at,
    {{ tap_intercom.json_field(c, 'author', ['id']) }} as author_id,
    {{ tap_intercom.json_field(c, 'author', ['type']) }} as author_type,
    {{ tap_intercom.json_field(c, 'author', ['name']) }} as author_name,
    {{ tap_intercom.json_field(c, 'assigned_to', ['id']) }} as assigned_to_id,
    {{ tap_intercom.json_field(c, 'assigned_to', ['type']) }} as assigned_to_type,
    {{ tap_intercom.field(c, 'state') }} as part_state,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
