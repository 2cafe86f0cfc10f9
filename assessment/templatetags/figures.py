"""Template filters for figures: the same formatting as `assessment.display`.

{% load figures %}
{{ result.score|score }}  {{ delta.change|change }}  {{ result.gap|gap }}
{{ rate|percent }}
"""

from django import template

from .. import display

register = template.Library()

register.filter("score", display.score)
register.filter("change", display.change)
register.filter("gap", display.gap)
register.filter("percent", display.percent)
