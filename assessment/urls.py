"""URLs, grouped by the view module that serves them.

- views_assessments: the organisation's assessments and the owner's hub
- views_invitations: invitees, emails and open links (owners)
- views_results: dashboard, downloads, the PDF report and the scoring method
- views_evidence: KPIs from cost data, uploads of cost exports
- views_actions: the action plan and the actions tracked to the next round
- views_survey: the participant's pages (personal and open links, no account)
"""

from django.urls import path

from . import views_actions as actions
from . import views_assessments as assessments
from . import views_evidence as evidence
from . import views_invitations as invitations
from . import views_results as results
from . import views_survey as survey

app_name = "assessment"

A = "assessments/<int:pk>/"

urlpatterns = [
    # The organisation's assessments and the owner's hub.
    path("", assessments.home, name="home"),
    path("o/<slug:org>/", assessments.assessment_list, name="list"),
    path("o/<slug:org>/new/", assessments.assessment_create, name="create"),
    path(A, assessments.assessment_detail, name="detail"),
    path(A + "edit/", assessments.assessment_edit, name="edit"),
    path(A + "scope/", assessments.assessment_scope, name="scope"),
    path(A + "routing/", assessments.assessment_routing, name="routing"),
    path(A + "open/", assessments.assessment_open, name="open"),
    path(A + "close/", assessments.assessment_close, name="close"),
    path(A + "reopen/", assessments.assessment_reopen, name="reopen"),
    path(A + "duplicate/", assessments.assessment_duplicate, name="duplicate"),
    path(A + "keep-links/", assessments.assessment_keep_links, name="keep_links"),
    path(A + "activity/", assessments.assessment_audit, name="audit"),
    path("framework/", assessments.framework, name="framework"),
    # Invitations and open links (owners).
    path(A + "invitations/", invitations.invitation_list, name="invitations"),
    path(
        A + "invitations/send/", invitations.invitations_send, name="invitations_send"
    ),
    path(A + "invitations/remind/", invitations.invitations_remind, name="remind"),
    path(A + "emails/retry/", invitations.emails_retry, name="emails_retry"),
    path(A + "emails/progress/", invitations.sending_progress, name="sending"),
    path(
        A + "invitations/<int:invitation_pk>/resend/",
        invitations.invitation_resend,
        name="invitation_resend",
    ),
    path(
        A + "invitations/<int:invitation_pk>/delete/",
        invitations.invitation_delete,
        name="invitation_delete",
    ),
    path(A + "open-links/", invitations.open_link_create, name="open_link_create"),
    path(
        A + "open-links/<int:link_pk>/deactivate/",
        invitations.open_link_deactivate,
        name="open_link_deactivate",
    ),
    # Results, downloads and the PDF report (owners and viewers).
    path(A + "results/", results.dashboard, name="results"),
    path(A + "results/publish/", results.publish, name="publish"),
    path(A + "results.<str:fmt>", results.export_results, name="export_results"),
    path(A + "answers.<str:fmt>", results.export_answers, name="export_answers"),
    path(A + "report.pdf", results.report_download, name="report"),
    path(A + "report/retry/", results.report_retry, name="report_retry"),
    path("how-scores-are-computed/", results.method, name="method"),
    # The action plan and the actions tracked to the next round.
    path(A + "actions/", actions.action_list, name="actions"),
    path(A + "actions/track/", actions.action_track, name="action_track"),
    path(A + "actions/<int:action_pk>/", actions.action_edit, name="action_edit"),
    path(A + "actions.<str:fmt>", actions.action_export, name="action_export"),
    # Evidence from cost data (KPIs for owners and viewers; uploads for owners).
    path(A + "evidence/", evidence.evidence_page, name="evidence"),
    path(A + "evidence/upload/", evidence.evidence_upload, name="evidence_upload"),
    path(A + "evidence/runs/<int:run_pk>/", evidence.evidence_run, name="evidence_run"),
    # Participants (no account): personal links and open links per persona.
    path("s/<str:token>/", survey.landing, name="survey"),
    path("s/<str:token>/p/<slug:domain>/", survey.questionnaire, name="survey_page"),
    path("s/<str:token>/more/", survey.more, name="survey_more"),
    path("s/<str:token>/review/", survey.review, name="survey_review"),
    path("s/<str:token>/thanks/", survey.thanks, name="survey_thanks"),
    path("s/<str:token>/reopen/", survey.reopen, name="survey_reopen"),
    path("join/<str:token>/", survey.join, name="join"),
]
