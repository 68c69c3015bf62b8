{% macro union_tap_tables(names) %}
    {#- The caller's select, once per present table of `names`, joined by union all (no table: one select that
        yields no rows, so the model still builds). caller(columns, relation, name). -#}
    {%- set selects = [] -%}
    {%- for name in names -%}
        {%- set relation = tap_intercom.tap_table(name) -%}
        {%- if relation is not none -%}
            {%- do selects.append(caller(tap_intercom.tap_columns(relation), relation, name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not selects -%}
        {%- do selects.append(caller({}, none, names[0])) -%}
    {%- endif -%}
    {{ selects | join('\nunion all\n') }}
{% endmacro %}

{% macro current_ids(names, id_column='id') %}
    {#- select id of the records the current tables hold (not soft-deleted); none when no current table is loaded
        (then the latest version of each record is its current one). -#}
    {%- set selects = [] -%}
    {%- for name in names -%}
        {%- set relation = tap_intercom.tap_table(name) -%}
        {%- if relation is not none -%}
            {%- set columns = tap_intercom.tap_columns(relation) -%}
            {%- do selects.append('select cast(t.' ~ columns[id_column] ~ ' as ' ~ dbt.type_string() ~ ') as id from '
                                  ~ relation ~ ' as t where not ' ~ tap_intercom.is_deleted(columns)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(selects | join('\nunion all\n') if selects else none) }}
{% endmacro %}

{% macro versioned(versions_cte, current_sql) %}
    {#- One row per (id, updated_at) of `versions_cte` (history and current tables may both hold a version: the
        latest-synced copy wins), with valid_from (the version's updated_at), valid_to (the next version's; null
        for the last) and is_active (the latest version of a record the current tables still hold). -#}
    select
        d.*,
        d.updated_at as valid_from,
        lead(d.updated_at) over (partition by d.id order by d.updated_at) as valid_to,
        (d.updated_at = max(d.updated_at) over (partition by d.id)
         {%- if current_sql is not none %} and d.id in (select c.id from ({{ current_sql }}) as c){% endif %}) as is_active
    from (
        select *, row_number() over (partition by id, updated_at order by synced_at desc nulls last) as version_copy
        from {{ versions_cte }}
    ) as d
    where d.version_copy = 1
{% endmacro %}
