"""The sandbox's routes, under /sandbox/ (agentdesk/urls.py, only when VCC_SANDBOX_ENABLED).

vcc/...        VCC: the token endpoint and the Payment API
provider/...   the PCI provider's agent page
keypad/...     the caller's phone
sms/, pay/...  the caller's phone for payment links: the SMS inbox, the hosted card form
control/...    the control API for tests
"""

from django.urls import path

from payments.vcc.sandbox import api, control, links, pages

app_name = "sandbox"
urlpatterns = [
    path("", pages.keypad_list, name="home"),
    # VCC
    path("vcc/Auth/connect/token", api.token, name="token"),
    path("vcc/api/v1/session", api.create_session, name="create-session"),
    path("vcc/api/v1/digitalsession", api.create_digital_session, name="create-digital-session"),
    path("vcc/api/v1/session/<str:guid>", api.get_session, name="get-session"),
    # The PCI provider's agent page
    path("provider/view/<uuid:page_id>/framed", pages.agent_page, name="agent-page"),
    path("provider/view/<uuid:page_id>/state", pages.agent_page_state, name="agent-page-state"),
    path("provider/view/<uuid:page_id>/submit", pages.agent_page_submit, name="agent-page-submit"),
    # The caller's phone
    path("keypad/", pages.keypad_list, name="keypad-list"),
    path("keypad/<uuid:guid>/", pages.keypad, name="keypad"),
    path("keypad/<uuid:guid>/press", pages.keypad_press, name="keypad-press"),
    path("keypad/<uuid:guid>/hang-up", pages.keypad_hang_up, name="keypad-hang-up"),
    # The caller's phone for payment links: the texts received, and the hosted card form
    path("sms/", links.sms_inbox, name="sms-inbox"),
    path("pay/<uuid:guid>/", links.hosted_form, name="pay-by-link"),
    # The control API
    path("control/reset", control.reset, name="control-reset"),
    path("control/stats", control.stats, name="control-stats"),
    path("control/knobs", control.knobs, name="control-knobs"),
    path("control/faults", control.faults, name="control-faults"),
    path("control/tokens/revoke", control.revoke_tokens, name="control-revoke-tokens"),
    path("control/webhooks", control.webhooks, name="control-webhooks"),
    path("control/sessions", control.session_list, name="control-sessions"),
    path("control/sessions/<str:guid>", control.session_detail, name="control-session"),
    path("control/sessions/<str:guid>/outcome", control.outcome, name="control-outcome"),
    path("control/sessions/<str:guid>/progress", control.progress, name="control-progress"),
    path("control/sessions/<str:guid>/keys", control.keys, name="control-keys"),
    path("control/sessions/<str:guid>/expire-page", control.expire_page, name="control-expire"),
    path("control/sessions/<str:guid>/purge", control.purge, name="control-purge"),
    path("control/sessions/<str:guid>/never-open", control.never_open, name="control-never-open"),
    path("control/sessions/<str:guid>/end-link", control.end_link, name="control-end-link"),
]
