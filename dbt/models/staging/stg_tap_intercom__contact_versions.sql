-- Every version of each user and lead, together as contacts with their role (users and contacts, as the tap
-- names the lead stream, and their opt-in *_history tables, key id, updated_at).
{%- set current = tap_intercom.current_ids(['users', 'contacts']) %}

with versions as (
{% call(c, rel, name) tap_intercom.union_tap_tables(['users_history', 'contacts_history', 'users', 'contacts']) %}
    select
        {{ tap_intercom.field(c, 'id') }} as id,
        coalesce({{ tap_intercom.field(c, 'role') }}, '{{ 'user' if name.startswith('users') else 'lead' }}') as role,
        {{ tap_intercom.field(c, 'external_id') }} as external_id,
        {{ tap_intercom.field(c, 'email') }} as email,
        {{ tap_intercom.field(c, 'name') }} as name,
        {{ tap_intercom.field(c, 'owner_id') }} as owner_id,
        {{ tap_intercom.field(c, 'created_at', dbt.type_timestamp()) }} as created_at,
        {{ tap_intercom.field(c, 'updated_at', dbt.type_timestamp()) }} as updated_at,
        {{ tap_intercom.field(c, 'signed_up_at', dbt.type_timestamp()) }} as signed_up_at,
        {{ tap_intercom.field(c, 'last_replied_at', dbt.type_timestamp()) }} as last_replied_at,
        {{ tap_intercom.field(c, 'last_contacted_at', dbt.type_timestamp()) }} as last_contacted_at,
        {{ tap_intercom.field(c, 'last_email_opened_at', dbt.type_timestamp()) }} as last_email_opened_at,
        {{ tap_intercom.field(c, 'last_email_clicked_at', dbt.type_timestamp()) }} as last_email_clicked_at,
        {{ tap_intercom.field(c, 'unsubscribed_from_emails', 'boolean') }} as unsubscribed_from_emails,
        {{ tap_intercom.synced_at(c) }} as synced_at
    from {{ tap_intercom.from_tap(rel) }}
{% endcall %}
)

{{ tap_intercom.versioned('versions', current) }}
