"""Template filters for figures and dates: the formatting of `assessment.display`.

{% load figures %}
{{ result.score|score }}  {{ delta.change|change }}  {{ result.gap|gap }}
{{ rate|percent }}  {{ assessment.closes_on|day }}  {{ response.submitted_at|day_time }}

The date filters are not called `date`, which would hide Django's own.
"""

from django import template

from .. import display

register = template.Library()

register.filter("score", display.score)
register.filter("change", display.change)
register.filter("gap", display.gap)
register.filter("percent", display.percent)
register.filter("day", display.date)
register.filter("day_time", display.date_time)
register.filter("money", display.money)
register.filter("count", display.count)
