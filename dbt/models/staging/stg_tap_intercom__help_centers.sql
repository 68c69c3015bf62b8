-- Help centers.
{%- set rel = tap_intercom.tap_table('help_centers') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'id') }} as help_center_id,
    {{ tap_intercom.field(c, 'workspace_id') }} as workspace_id,
    {{ tap_intercom.field(c, 'identifier') }} as identifier,
    {{ tap_intercom.field(c, 'display_name') }} as display_name,
    {{ tap_intercom.field(c, 'website_turned_on', 'boolean') }} as website_turned_on,
    {{ tap_intercom.field(c, 'created_at', dbt.type_timestamp()) }} as created_at,
    {{ tap_intercom.field(c, 'updated_at', dbt.type_timestamp()) }} as updated_at,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
