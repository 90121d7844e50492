from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "agentdesk.staff"
    # The label of the app these models were born in: tables, permissions and migrations keep it.
    label = "agentdesk"
    verbose_name = "Staff"

    def ready(self) -> None:
        from django.contrib.auth import signals as auth_signals

        from agentdesk.staff import signals

        auth_signals.user_logged_in.connect(signals.signed_in, dispatch_uid="audit_sign_in")
        auth_signals.user_logged_out.connect(signals.signed_out, dispatch_uid="audit_sign_out")
        auth_signals.user_login_failed.connect(
            signals.sign_in_failed, dispatch_uid="audit_sign_in_failed"
        )
