{#- SQL that differs between PostgreSQL and DuckDB, dispatched (adapter.dispatch) so a project may override it. -#}

{% macro json_text(expression, path) %}
    {{- return(adapter.dispatch('json_text', 'tap_intercom')(expression, path)) -}}
{% endmacro %}

{% macro default__json_text(expression, path) -%}
    (cast({{ expression }} as jsonb) #>> '{ {{- path | join(',') -}} }')
{%- endmacro %}

{% macro duckdb__json_text(expression, path) -%}
    json_extract_string({{ expression }}, '$.{{ path | join('.') }}')
{%- endmacro %}


{% macro json_array_items(relation, key_column, array_column, data_type) %}
    {#- select key, item: one row per element of a JSON array column (jsonb, jsonb[] as meltanolabs writes
        arrays, JSON or JSON text). -#}
    {{- return(adapter.dispatch('json_array_items', 'tap_intercom')(relation, key_column, array_column, data_type)) -}}
{% endmacro %}

{% macro default__json_array_items(relation, key_column, array_column, data_type) -%}
    {%- if data_type in ('array', 'jsonb[]', 'json[]') -%}
    select t.{{ key_column }} as parent_id, item from {{ relation }} as t
    cross join lateral unnest(t.{{ array_column }}) as items(item)
    {%- else -%}
    select t.{{ key_column }} as parent_id, item from {{ relation }} as t
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof(cast(t.{{ array_column }} as jsonb)) = 'array' then cast(t.{{ array_column }} as jsonb)
        else '[]'::jsonb end) as items(item)
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__json_array_items(relation, key_column, array_column, data_type) -%}
    select parent_id, item from (
        select t.{{ key_column }} as parent_id,
               unnest(from_json(cast(t.{{ array_column }} as json), '["json"]')) as item
        from {{ relation }} as t
        where json_type(cast(t.{{ array_column }} as json)) = 'ARRAY'
    ) as items
{%- endmacro %}


{% macro safe_bigint(expression) %}
    {#- Intercom's numeric ids (conversations, parts, tags, teams) as integers, as Fivetran types them; an id that
        is not a number becomes null rather than failing the model. -#}
    {{- return(adapter.dispatch('safe_bigint', 'tap_intercom')(expression)) -}}
{% endmacro %}

{% macro default__safe_bigint(expression) -%}
    case when cast({{ expression }} as text) ~ '^-?[0-9]{1,18}$' then cast(cast({{ expression }} as text) as bigint) end
{%- endmacro %}

{% macro duckdb__safe_bigint(expression) -%}
    try_cast({{ expression }} as bigint)
{%- endmacro %}


{% macro epoch_seconds(expression) %}
    {{- return(adapter.dispatch('epoch_seconds', 'tap_intercom')(expression)) -}}
{% endmacro %}

{% macro default__epoch_seconds(expression) -%}
    cast(floor(extract(epoch from {{ expression }})) as bigint)
{%- endmacro %}

{% macro duckdb__epoch_seconds(expression) -%}
    cast(floor(epoch({{ expression }})) as bigint)
{%- endmacro %}


{% macro wall_clock(utc_timestamp, time_zone) %}
    {#- A UTC timestamp (without time zone, as the targets load them) as the wall-clock time in an IANA zone. -#}
    {{- return(adapter.dispatch('wall_clock', 'tap_intercom')(utc_timestamp, time_zone)) -}}
{% endmacro %}

{% macro default__wall_clock(utc_timestamp, time_zone) -%}
    (({{ utc_timestamp }}) at time zone 'UTC') at time zone {{ time_zone }}
{%- endmacro %}

{% macro duckdb__wall_clock(utc_timestamp, time_zone) -%}
    timezone({{ time_zone }}, timezone('UTC', {{ utc_timestamp }}))
{%- endmacro %}


{% macro far_future() -%}
    cast('9999-12-31 23:59:59' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{% macro series_join(start_expression, end_expression, alias, column) %}
    {#- Joins one row per integer from start to end (inclusive) of each row, as alias.column. -#}
    {{- return(adapter.dispatch('series_join', 'tap_intercom')(start_expression, end_expression, alias, column)) -}}
{% endmacro %}

{% macro default__series_join(start_expression, end_expression, alias, column) -%}
    cross join lateral generate_series(cast({{ start_expression }} as bigint), cast({{ end_expression }} as bigint)) as {{ alias }}({{ column }})
{%- endmacro %}

{% macro duckdb__series_join(start_expression, end_expression, alias, column) -%}
    cross join lateral (select unnest(generate_series(cast({{ start_expression }} as bigint), cast({{ end_expression }} as bigint))) as {{ column }}) as {{ alias }}
{%- endmacro %}


{% macro type_double() %}
    {#- A double-precision float (dbt.type_float() is single precision on DuckDB). -#}
    {{- return('double' if target.type == 'duckdb' else 'double precision') -}}
{% endmacro %}
