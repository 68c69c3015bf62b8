-- Help center articles (current versions; the list has no history).
{%- set rel = tap_intercom.tap_table('articles') -%}
{%- set c = tap_intercom.tap_columns(rel) %}

select
    {{ tap_intercom.field(c, 'id') }} as article_id,
    {{ tap_intercom.field(c, 'workspace_id') }} as workspace_id,
    {{ tap_intercom.field(c, 'title') }} as title,
    {{ tap_intercom.field(c, 'description') }} as description,
    {{ tap_intercom.field(c, 'body') }} as body,
    {{ tap_intercom.field(c, 'author_id') }} as author_id,
    {{ tap_intercom.field(c, 'state') }} as state,
    {{ tap_intercom.field(c, 'type') }} as article_type,
    {{ tap_intercom.field(c, 'url') }} as url,
    {{ tap_intercom.field(c, 'parent_id') }} as parent_id,
    {{ tap_intercom.field(c, 'parent_type') }} as parent_type,
    {{ tap_intercom.field(c, 'default_locale') }} as default_locale,
    {{ tap_intercom.field(c, 'created_at', dbt.type_timestamp()) }} as created_at,
    {{ tap_intercom.field(c, 'updated_at', dbt.type_timestamp()) }} as updated_at,
    {{ tap_intercom.json_field(c, 'statistics', ['type']) }} as statistics_type,
    {{ tap_intercom.json_field(c, 'statistics', ['views'], dbt.type_bigint()) }} as statistics_views,
    {{ tap_intercom.json_field(c, 'statistics', ['conversions'], dbt.type_bigint()) }} as statistics_conversations,
    {{ tap_intercom.json_field(c, 'statistics', ['reactions'], dbt.type_bigint()) }} as statistics_reactions,
    {{ tap_intercom.json_field(c, 'statistics', ['happy_reaction_percentage'], tap_intercom.type_double()) }} as statistics_happy_reaction_percentage,
    {{ tap_intercom.json_field(c, 'statistics', ['neutral_reaction_percentage'], tap_intercom.type_double()) }} as statistics_neutral_reaction_percentage,
    {{ tap_intercom.json_field(c, 'statistics', ['sad_reaction_percentage'], tap_intercom.type_double()) }} as statistics_sad_reaction_percentage,
    {{ tap_intercom.is_deleted(c) }} as is_deleted,
    {{ tap_intercom.synced_at(c) }} as synced_at
from {{ tap_intercom.from_tap(rel) }}
