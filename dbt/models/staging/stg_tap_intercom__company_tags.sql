-- The tags of each company.
{%- set rel = tap_intercom.tap_table('company_tags') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'company_id') }} as company_id,
    {{ tap_intercom.field(c, 'tag_id') }} as tag_id,
    {{ tap_intercom.field(c, 'company_updated_at', dbt.type_timestamp()) }} as company_updated_at,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
