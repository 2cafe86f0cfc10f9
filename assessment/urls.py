from django.urls import path

from . import survey, views

app_name = "assessment"

urlpatterns = [
    path("", views.home, name="home"),
    path("o/<slug:org>/", views.assessment_list, name="list"),
    path("assessments/<int:pk>/", views.assessment_detail, name="detail"),
    path("framework/", views.framework, name="framework"),
    # Participants (no account): personal links and open links per persona.
    path("s/<str:token>/", survey.landing, name="survey"),
    path("join/<str:token>/", survey.join, name="join"),
]
