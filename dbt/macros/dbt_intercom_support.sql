{#- What Fivetran's dbt_intercom needs beside our tables; used only where the root project's dbt_project.yml
    routes dbt_intercom's and fivetran_utils' dispatched macros here (dbt/with_dbt_intercom/dbt_project.yml). -#}

{% macro duckdb__percentile(percentile_field, partition_field, percent) %}
    {#- fivetran_utils.percentile on DuckDB, which has no `percentile_cont(p) within group (...) over (...)`: the
        same continuous percentile as a window function. -#}
    quantile_cont({{ percentile_field }}, {{ percent }}) over (partition by {{ partition_field }})
{% endmacro %}

{% macro default__intercom_union_connections(connection_dictionary, single_source_name, single_table_name, default_identifier=single_table_name) %}
    {#- dbt_intercom reads its tables with source(); ours are models, so dbt would not know to build them first.
        This names our model (a ref dbt records while parsing), then hands over to dbt_intercom's own macro. -#}
    {%- set ours = 'fivetran_intercom__' ~ single_table_name -%}
    {%- if single_table_name in tap_intercom.fivetran_table_names() %}
    -- depends_on: {{ ref('tap_intercom', ours) }}
    {%- endif %}
    {{ intercom.default__intercom_union_connections(connection_dictionary, single_source_name, single_table_name, default_identifier) }}
{% endmacro %}

{% macro fivetran_table_names() %}
    {#- The tables dbt_intercom reads, each one of our models named fivetran_intercom__<table>. -#}
    {{ return(['admin', 'team', 'team_admin', 'tag', 'contact_history', 'company_history', 'conversation_history',
               'conversation_part_history', 'contact_tag_history', 'company_tag_history', 'conversation_tag_history',
               'contact_company_history', 'conversation_contact_history', 'article_history', 'collection_history',
               'help_center_history']) }}
{% endmacro %}
