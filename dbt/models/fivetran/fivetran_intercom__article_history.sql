-- Fivetran's article_history: help center articles (current versions only).
{{ config(alias='article_history') }}

select
    article_id as id,
    case when parent_type = 'collection' then parent_id end as collection_id,
    case when parent_type = 'section' then parent_id end as section_id,
    author_id,
    title,
    description,
    body,
    url,
    article_type as type,
    state,
    parent_type,
    default_locale,
    workspace_id,
    statistics_type,
    statistics_views,
    statistics_conversations,
    statistics_reactions,
    statistics_happy_reaction_percentage,
    statistics_neutral_reaction_percentage,
    statistics_sad_reaction_percentage,
    created_at,
    updated_at,
    not is_deleted as _fivetran_active,
    updated_at as _fivetran_start,
    case when is_deleted then synced_at else {{ tap_intercom.far_future() }} end as _fivetran_end,
    synced_at as _fivetran_synced
from {{ ref('stg_tap_intercom__articles') }}
