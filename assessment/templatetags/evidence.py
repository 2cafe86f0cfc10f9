"""Template helpers for evidence from cost data.

{% load evidence %}
{% data_says cap %}                       the dashboard's "Data says" cell
{{ evidence|kpi_figure:"forecast_variance" }}  one KPI's stored figure
"""

from django import template

register = template.Library()


@register.inclusion_tag("assessment/results/_data_says.html", takes_context=True)
def data_says(context, cap):
    """Render what cost data says of a capability, with a mismatch marker."""
    evidence = context.get("evidence")
    data = evidence.by_capability.get(cap.capability.pk) if evidence else None
    return {
        "data": data,
        "mismatch": cap.capability.pk in context.get("mismatched", ()),
    }


@register.filter
def kpi_figure(evidence, key: str):
    return evidence.figure(key) if evidence else None
