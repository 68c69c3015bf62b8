{% test one_active_version(model, column_name) %}
    {#- Each record has at most one version with _fivetran_active (dbt_intercom keeps only those). -#}
    select {{ column_name }}
    from {{ model }}
    where _fivetran_active
    group by {{ column_name }}
    having count(*) > 1
{% endtest %}
