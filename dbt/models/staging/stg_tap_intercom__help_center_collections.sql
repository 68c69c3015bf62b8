-- Help center collections and sections.
{%- set rel = tap_intercom.tap_table('help_center_collections') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'id') }} as collection_id,
    {{ tap_intercom.field(c, 'workspace_id') }} as workspace_id,
    {{ tap_intercom.field(c, 'help_center_id') }} as help_center_id,
    {{ tap_intercom.field(c, 'parent_id') }} as parent_id,
    {{ tap_intercom.field(c, 'name') }} as collection_name,
    {{ tap_intercom.field(c, 'description') }} as description,
    {{ tap_intercom.field(c, 'url') }} as url,
    {{ tap_intercom.field(c, 'icon') }} as icon,
    {{ tap_intercom.field(c, 'default_locale') }} as default_locale,
    {{ tap_intercom.field(c, 'order', dbt.type_bigint()) }} as display_order,
    {{ tap_intercom.field(c, 'created_at', dbt.type_timestamp()) }} as created_at,
    {{ tap_intercom.field(c, 'updated_at', dbt.type_timestamp()) }} as updated_at,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
