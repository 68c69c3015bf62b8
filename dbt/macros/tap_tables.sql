{#- The tap's tables, whichever target loaded them. A stream may be unselected (its table absent) and a field
    deselected (its column absent): models read what is there and write typed nulls for the rest, so one
    missing table or column empties that model's column, never fails the build. -#}

{% macro tap_table(name) %}
    {#- The loaded table `name` in var('tap_intercom_schema'), or none when absent (always none at parse). -#}
    {%- set declared = source('tap_intercom', name) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.get_relation(database=declared.database, schema=declared.schema,
                                   identifier=declared.identifier)) }}
{% endmacro %}

{% macro tap_columns(relation) %}
    {#- {lowercase name: quoted name} of the relation's columns; {} when it is absent. Targets differ in case
        (pipelinewise lowercases, others keep the stream's), so names are matched case-blind. -#}
    {%- set found = {} -%}
    {%- if relation is not none -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do found.update({column.name | lower: adapter.quote(column.name)}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{% endmacro %}

{% macro tap_column_types(relation) %}
    {#- {lowercase name: data type} of the relation's columns. -#}
    {%- set found = {} -%}
    {%- if relation is not none -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do found.update({column.name | lower: column.data_type | lower}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{% endmacro %}

{% macro from_tap(relation, alias='t') %}
    {#- The FROM item for a tap table: the table, or no rows at all when it is absent. -#}
    {%- if relation is not none -%}
        {{ relation }} as {{ alias }}
    {%- else -%}
        (select 1 as _tap_intercom_absent where 1 = 0) as {{ alias }}
    {%- endif -%}
{% endmacro %}

{% macro field(columns, name, type=none, alias='t') %}
    {#- A column of the tap's table, or a typed null when the table or the column is absent. -#}
    {%- set type = type or dbt.type_string() -%}
    {%- if name | lower in columns -%}
        cast({{ alias }}.{{ columns[name | lower] }} as {{ type }})
    {%- else -%}
        cast(null as {{ type }})
    {%- endif -%}
{% endmacro %}

{% macro json_field(columns, name, path, type=none, alias='t') %}
    {#- A value inside a JSON column (path: a list of keys), as text then `type`; null when absent. Objects are
        jsonb (meltanolabs, pipelinewise), JSON (target-duckdb) or JSON text: each reads as JSON. -#}
    {%- set type = type or dbt.type_string() -%}
    {%- if name | lower in columns -%}
        cast({{ tap_intercom.json_text(alias ~ '.' ~ columns[name | lower], path) }} as {{ type }})
    {%- else -%}
        cast(null as {{ type }})
    {%- endif -%}
{% endmacro %}

{% macro synced_at(columns, alias='t') %}
    {#- Fivetran's _fivetran_synced: when the target wrote the row, from the Singer metadata columns when the
        target adds them (meltanolabs: add_record_metadata; pipelinewise and target-duckdb: add_metadata_columns). -#}
    {%- set present = [] -%}
    {%- for name in ['_sdc_batched_at', '_sdc_received_at', '_sdc_extracted_at'] -%}
        {%- if name in columns -%}{%- do present.append('cast(' ~ alias ~ '.' ~ columns[name] ~ ' as ' ~ dbt.type_timestamp() ~ ')') -%}{%- endif -%}
    {%- endfor -%}
    {%- if present -%}coalesce({{ present | join(', ') }}, cast(null as {{ dbt.type_timestamp() }})){%- else -%}cast(null as {{ dbt.type_timestamp() }}){%- endif -%}
{% endmacro %}

{% macro is_deleted(columns, alias='t') %}
    {#- A row the target marked deleted (a soft delete: _sdc_deleted_at set); false without that column. -#}
    {%- if '_sdc_deleted_at' in columns -%}
        ({{ alias }}.{{ columns['_sdc_deleted_at'] }} is not null)
    {%- else -%}
        false
    {%- endif -%}
{% endmacro %}
