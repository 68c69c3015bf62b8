-- Every version of each conversation: the opt-in conversations_history table (key id, updated_at) and the
-- current conversations table together, source, rating and SLA flattened from their JSON objects.
{%- set current = tap_intercom.current_ids(['conversations']) %}

with versions as (
{% call(c, rel, name) tap_intercom.union_tap_tables(['conversations_history', 'conversations']) %}
    select
        {{ tap_intercom.field(c, 'id') }} as id,
        {{ tap_intercom.field(c, 'created_at', dbt.type_timestamp()) }} as created_at,
        {{ tap_intercom.field(c, 'updated_at', dbt.type_timestamp()) }} as updated_at,
        {{ tap_intercom.field(c, 'waiting_since', dbt.type_timestamp()) }} as waiting_since,
        {{ tap_intercom.field(c, 'snoozed_until', dbt.type_timestamp()) }} as snoozed_until,
        {{ tap_intercom.field(c, 'state') }} as state,
        {{ tap_intercom.field(c, 'read', 'boolean') }} as is_read,
        {{ tap_intercom.field(c, 'title') }} as title,
        {{ tap_intercom.field(c, 'priority') }} as priority,
        {{ tap_intercom.field(c, 'admin_assignee_id') }} as admin_assignee_id,
        {{ tap_intercom.field(c, 'team_assignee_id') }} as team_assignee_id,
        {{ tap_intercom.json_field(c, 'conversation_rating', ['rating'], dbt.type_int()) }} as rating_value,
        {{ tap_intercom.json_field(c, 'conversation_rating', ['remark']) }} as rating_remark,
        {{ tap_intercom.json_field(c, 'first_contact_reply', ['created_at'], dbt.type_timestamp()) }} as first_contact_reply_created_at,
        {{ tap_intercom.json_field(c, 'first_contact_reply', ['type']) }} as first_contact_reply_type,
        {{ tap_intercom.json_field(c, 'sla_applied', ['sla_name']) }} as sla_name,
        {{ tap_intercom.json_field(c, 'sla_applied', ['sla_status']) }} as sla_status,
        {{ tap_intercom.json_field(c, 'source', ['type']) }} as source_type,
        {{ tap_intercom.json_field(c, 'source', ['delivered_as']) }} as source_delivered_as,
        {{ tap_intercom.json_field(c, 'source', ['subject']) }} as source_subject,
        {{ tap_intercom.json_field(c, 'source', ['body']) }} as source_body,
        {{ tap_intercom.json_field(c, 'source', ['author', 'id']) }} as source_author_id,
        {{ tap_intercom.json_field(c, 'source', ['author', 'type']) }} as source_author_type,
        {{ tap_intercom.json_field(c, 'statistics', ['handling_time'], tap_intercom.type_double()) }} as intercom_handling_time_seconds,
        {{ tap_intercom.json_field(c, 'statistics', ['time_to_admin_reply'], tap_intercom.type_double()) }} as intercom_time_to_admin_reply_seconds,
        {{ tap_intercom.json_field(c, 'statistics', ['time_to_first_close'], tap_intercom.type_double()) }} as intercom_time_to_first_close_seconds,
        {{ tap_intercom.json_field(c, 'statistics', ['count_reopens'], dbt.type_int()) }} as intercom_count_reopens,
        {{ tap_intercom.json_field(c, 'statistics', ['count_assignments'], dbt.type_int()) }} as intercom_count_assignments,
        {{ tap_intercom.synced_at(c) }} as synced_at
    from {{ tap_intercom.from_tap(rel) }}
{% endcall %}
)

{{ tap_intercom.versioned('versions', current) }}
