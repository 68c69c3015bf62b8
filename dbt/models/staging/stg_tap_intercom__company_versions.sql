-- Every version of each company: the opt-in companies_history table (key id, updated_at) and the current
-- companies table together, plan flattened from its JSON object.
{%- set current = tap_intercom.current_ids(['companies']) %}

with versions as (
{% call(c, rel, name) tap_intercom.union_tap_tables(['companies_history', 'companies']) %}
    select
        {{ tap_intercom.field(c, 'id') }} as id,
        {{ tap_intercom.field(c, 'company_id') }} as company_id,
        {{ tap_intercom.field(c, 'name') }} as name,
        {{ tap_intercom.field(c, 'website') }} as website,
        {{ tap_intercom.field(c, 'industry') }} as industry,
        {{ tap_intercom.field(c, 'monthly_spend', tap_intercom.type_double()) }} as monthly_spend,
        {{ tap_intercom.json_field(c, 'plan', ['id']) }} as plan_id,
        {{ tap_intercom.json_field(c, 'plan', ['name']) }} as plan_name,
        {{ tap_intercom.field(c, 'session_count', dbt.type_bigint()) }} as session_count,
        {{ tap_intercom.field(c, 'user_count', dbt.type_bigint()) }} as user_count,
        {{ tap_intercom.field(c, 'created_at', dbt.type_timestamp()) }} as created_at,
        {{ tap_intercom.field(c, 'updated_at', dbt.type_timestamp()) }} as updated_at,
        {{ tap_intercom.synced_at(c) }} as synced_at
    from {{ tap_intercom.from_tap(rel) }}
{% endcall %}
)

{{ tap_intercom.versioned('versions', current) }}
