from django.urls import path

from . import reports, results, survey, views

app_name = "assessment"

urlpatterns = [
    path("", views.home, name="home"),
    path("o/<slug:org>/", views.assessment_list, name="list"),
    path("assessments/<int:pk>/", views.assessment_detail, name="detail"),
    # Owners' side (issue 3): lifecycle, scope, invitations.
    path("o/<slug:org>/new/", views.assessment_create, name="create"),
    path("assessments/<int:pk>/edit/", views.assessment_edit, name="edit"),
    path("assessments/<int:pk>/scope/", views.assessment_scope, name="scope"),
    path("assessments/<int:pk>/routing/", views.assessment_routing, name="routing"),
    path("assessments/<int:pk>/open/", views.assessment_open, name="open"),
    path("assessments/<int:pk>/close/", views.assessment_close, name="close"),
    path("assessments/<int:pk>/reopen/", views.assessment_reopen, name="reopen"),
    path(
        "assessments/<int:pk>/duplicate/",
        views.assessment_duplicate,
        name="duplicate",
    ),
    path(
        "assessments/<int:pk>/invitations/",
        views.invitation_list,
        name="invitations",
    ),
    path(
        "assessments/<int:pk>/invitations/send/",
        views.invitations_send,
        name="invitations_send",
    ),
    path(
        "assessments/<int:pk>/invitations/remind/",
        views.invitations_remind,
        name="remind",
    ),
    path(
        "assessments/<int:pk>/invitations/<int:invitation_pk>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "assessments/<int:pk>/invitations/<int:invitation_pk>/delete/",
        views.invitation_delete,
        name="invitation_delete",
    ),
    path(
        "assessments/<int:pk>/open-links/",
        views.open_link_create,
        name="open_link_create",
    ),
    path(
        "assessments/<int:pk>/open-links/<int:link_pk>/deactivate/",
        views.open_link_deactivate,
        name="open_link_deactivate",
    ),
    # PDF maturity report (issue 6).
    path("assessments/<int:pk>/report.pdf", reports.report_download, name="report"),
    # Results, scoring method and exports (issue 5).
    path("assessments/<int:pk>/results/", results.dashboard, name="results"),
    path(
        "assessments/<int:pk>/results.<str:fmt>",
        results.export_results,
        name="export_results",
    ),
    path(
        "assessments/<int:pk>/answers.<str:fmt>",
        results.export_answers,
        name="export_answers",
    ),
    path("how-scores-are-computed/", results.method, name="method"),
    path("framework/", views.framework, name="framework"),
    # Participants (no account): personal links and open links per persona.
    path("s/<str:token>/", survey.landing, name="survey"),
    path("s/<str:token>/p/<slug:domain>/", survey.questionnaire, name="survey_page"),
    path("s/<str:token>/more/", survey.more, name="survey_more"),
    path("s/<str:token>/review/", survey.review, name="survey_review"),
    path("s/<str:token>/thanks/", survey.thanks, name="survey_thanks"),
    path("s/<str:token>/reopen/", survey.reopen, name="survey_reopen"),
    path("join/<str:token>/", survey.join, name="join"),
]
