"""Template filters for figures: the same formatting as `assessment.display`.

{% load figures %}
{{ result.score|score }}  {{ delta.change|change }}  {{ rate|percent }}
"""

from django import template

from .. import display

register = template.Library()

register.filter("score", display.score)
register.filter("change", display.change)
register.filter("percent", display.percent)
register.filter("money", display.money)
register.filter("count", display.count)
