-- The contacts of each conversation.
{%- set rel = tap_intercom.tap_table('conversation_contacts') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'conversation_id') }} as conversation_id,
    {{ tap_intercom.field(c, 'contact_id') }} as contact_id,
    {{ tap_intercom.field(c, 'conversation_updated_at', dbt.type_timestamp()) }} as conversation_updated_at,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
